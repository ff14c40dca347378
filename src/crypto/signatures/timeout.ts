/**
 * Timeouts around signing calls: a signer that never answers must not hold the appends sequenced
 * behind it (RemoteSigner's own `timeoutMs`, the ledger's `signTimeoutMs`).
 */

/** The longest delay a Node timer keeps (a longer one fires after 1 ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timeout in ms that a timer can keep: 1 … MAX_TIMER_MS, or Infinity (none). */
export function isTimeout(ms: unknown): ms is number {
  return ms === Number.POSITIVE_INFINITY || (typeof ms === 'number' && ms >= 1 && ms <= MAX_TIMER_MS);
}

/**
 * `p`, or a rejection with `timedOut()` if `p` has not settled within `ms` (Infinity: `p` itself).
 * The timer is cleared as soon as either side settles.
 */
export function withTimeout<T>(p: Promise<T>, ms: number, timedOut: () => unknown): Promise<T> {
  if (ms === Number.POSITIVE_INFINITY) return p;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), ms);
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}
