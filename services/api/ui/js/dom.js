// @ts-check
// DOM helpers. Every piece of data reaches the DOM through textContent / text nodes, never
// innerHTML: certificate subjects and error messages can hold hostile text.

import { ApiError } from './api.js';

/** What `h` appends: a node, or text (never parsed as HTML); nothing for null, undefined, false. */
/** @typedef {Node | string | null | undefined | false} Leaf */
/** A child of `h`, or a list of them. */
/** @typedef {Leaf | Leaf[]} Child */
/** An attribute value; null, undefined and false leave the attribute out, true sets it empty. */
/** @typedef {string | number | boolean | null | undefined} PropValue */

/**
 * The page's element with this id, checked to be of the given type.
 * @template {HTMLElement} E
 * @param {string} id
 * @param {{ new (): E, prototype: E }} type
 * @returns {E}
 */
export function byId(id, type) {
  const node = document.getElementById(id);
  if (node instanceof type) return node;
  throw new Error(`the page has no ${type.name} #${id}`);
}

/** The page's element with this id. @param {string} id */
export const $ = (id) => byId(id, HTMLElement);

/**
 * Creates an element. `props.text` sets textContent; `class`, `title`, `href`, … are set as
 * attributes; children are nodes or strings (appended as text, never parsed as HTML).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, PropValue>} [props]
 * @param {Child[]} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = String(value);
    else if (key === 'class') node.className = String(value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** @param {HTMLElement} node @param {boolean} visible */
export function show(node, visible) {
  node.hidden = !visible;
}

/**
 * Shows an error verbatim (an API error as its code and its message), or hides the box.
 * @param {HTMLElement} node
 * @param {unknown} err an ApiError, an Error, a message, or null to hide
 */
export function showError(node, err) {
  node.replaceChildren();
  if (!err) {
    show(node, false);
    return;
  }
  if (err instanceof ApiError) {
    node.append(h('code', { class: 'err-code', text: err.code }), ': ', err.message);
  } else {
    node.append(err instanceof Error && err.message ? err.message : String(err));
  }
  show(node, true);
}

/** A row of a definition list: the term, then what it says; left out when that is undefined or false. */
/** @typedef {[term: string, ...value: Child[]]} Fact */

/** Fills a definition list. @param {HTMLElement} dl @param {Fact[]} rows */
export function facts(dl, rows) {
  dl.replaceChildren();
  for (const [term, ...value] of rows) {
    if (value.length === 1 && (value[0] === undefined || value[0] === false)) continue;
    dl.append(h('dt', { text: term }), h('dd', {}, ...value));
  }
}
