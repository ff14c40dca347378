import type { RangeQuery } from './backend.js';

/** Apply a RangeQuery to rows held in index order (in-memory backends and tests). */
export function filterRange<T extends { index: number }>(
  rows: readonly T[],
  q: RangeQuery,
  ts: (r: T) => number,
): T[] {
  const from = Math.max(0, q.fromIndex ?? 0);
  const to = Math.min(rows.length, q.toIndex ?? rows.length);
  const offset = q.offset ?? 0;
  const limit = q.limit ?? Number.POSITIVE_INFINITY;
  const out: T[] = [];
  if (limit <= 0) return out;
  const hasTime = q.startMs !== undefined || q.endMs !== undefined;
  const lo = q.startMs ?? Number.NEGATIVE_INFINITY;
  const hi = q.endMs ?? Number.POSITIVE_INFINITY;
  let skipped = 0;
  const desc = q.order === 'desc';
  for (let k = 0; k < to - from; k++) {
    const r = rows[desc ? to - 1 - k : from + k]!;
    if (hasTime) {
      const t = ts(r);
      if (t < lo || t > hi) continue;
    }
    if (skipped < offset) {
      skipped++;
      continue;
    }
    out.push(r);
    if (out.length >= limit) break;
  }
  return out;
}
