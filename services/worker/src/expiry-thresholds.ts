const DAY_MS = 86_400_000;

/** Whole days from `now` to `notAfter`, rounded up: 9 days and an hour is 10; 0 or less is expired. */
export function daysLeft(notAfter: string, now: Date): number {
  return Math.ceil((Date.parse(notAfter) - now.getTime()) / DAY_MS);
}

/**
 * The threshold a certificate with `days` left has crossed: the smallest of
 * `thresholds` that is at least `days` (10 days left with 60,30,14,7,1 is 14, never
 * 60 or 30 as well), or undefined when it is above every threshold or already expired.
 */
export function crossedThreshold(days: number, thresholds: readonly number[]): number | undefined {
  if (days <= 0) return undefined;
  let crossed: number | undefined;
  for (const t of thresholds) if (t >= days && (crossed === undefined || t < crossed)) crossed = t;
  return crossed;
}
