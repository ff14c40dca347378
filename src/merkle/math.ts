/**
 * Integer helpers for tree sizes and indexes kept as JS numbers below 2^53.
 * JS bit operators truncate to 32 bits, so everything here is plain arithmetic.
 */

/** Largest tree size the library handles: indexes and sizes stay exact doubles. */
export const MAX_TREE_SIZE = Number.MAX_SAFE_INTEGER;

export function isTreeSize(x: unknown): x is number {
  return Number.isSafeInteger(x) && (x as number) >= 0;
}

/** Number of set bits. */
export function popcount(x: number): number {
  let count = 0;
  for (let v = x; v > 0; v = Math.floor(v / 2)) count += v % 2;
  return count;
}

/** Number of trailing zero bits; x must be > 0. */
export function trailingZeros(x: number): number {
  let count = 0;
  for (let v = x; v % 2 === 0 && v > 0; v /= 2) count++;
  return count;
}
