// @ts-check
// The current view and its poll timer. Every navigation starts a new generation: answers that
// arrive for an older one are dropped, and only the current view may poll.

let generation = 0;
/** @type {ReturnType<typeof setTimeout> | null} */
let timer = null;

/** Stops the pending poll, if any. */
export function stopPolling() {
  if (timer !== null) clearTimeout(timer);
  timer = null;
}

/** Starts a new view: stops the old one's poll. @returns {number} the new generation */
export function navigate() {
  generation++;
  stopPolling();
  return generation;
}

/** @returns {number} the current view's generation */
export function currentGeneration() {
  return generation;
}

/** @param {number} gen @returns {boolean} whether `gen` is still the view on screen */
export function isCurrent(gen) {
  return gen === generation;
}

/**
 * Runs `poll` after `ms`, unless the view `gen` has been left by then.
 * @param {number} gen
 * @param {number} ms
 * @param {() => void} poll
 */
export function pollLater(gen, ms, poll) {
  stopPolling();
  if (gen === generation) timer = setTimeout(poll, ms);
}
