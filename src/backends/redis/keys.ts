/**
 * Redis key layout. Every key of one ledger shares the hash tag `{name}`, so a Redis Cluster keeps
 * them in one slot and the commit script can touch them all atomically.
 */
import { ValidationError } from '../../errors.js';
import { assertLedgerName } from '../sqlite/schema.js';

const PREFIX_RE = /^[A-Za-z0-9_.:-]{0,64}$/;

export function assertKeyPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || !PREFIX_RE.test(prefix)) {
    throw new ValidationError(
      `invalid Redis key prefix ${JSON.stringify(prefix)}: use up to 64 of [A-Za-z0-9_.:-]`,
      {
        path: '/prefix',
      },
    );
  }
  return prefix;
}

export interface RedisKeys {
  /** JSON LedgerMeta. */
  meta: string;
  /** Hash: size, last, frontier, root. */
  head: string;
  /** Hash: index → JSON [id, ts, hashHex, body, sigs]. The committed, never-changing part. */
  entries: string;
  /** Hash: index → JSON [data, saltHex]. Deleted field = redacted. */
  data: string;
  /** Hash: entry id → index. */
  ids: string;
  /** Sorted set: member index, score timestamp ms. */
  times: string;
  /** Hash: "level/index" → 2-byte big-endian width ‖ hashes. */
  tiles: string;
  /** Hash: size → JSON {root, note, created}. */
  checkpoints: string;
  /** Sorted set of checkpoint sizes. */
  checkpointSizes: string;
  /** Hash: entryBytes, tileBytes. */
  stats: string;
}

export function redisKeys(prefix: string, name: string): RedisKeys {
  const base = `${assertKeyPrefix(prefix)}{${assertLedgerName(name)}}:`;
  return {
    meta: `${base}meta`,
    head: `${base}head`,
    entries: `${base}e`,
    data: `${base}d`,
    ids: `${base}id`,
    times: `${base}ts`,
    tiles: `${base}tiles`,
    checkpoints: `${base}cp`,
    checkpointSizes: `${base}cps`,
    stats: `${base}stats`,
  };
}

/** Keys in the order the commit script takes them. */
export function commitKeys(k: RedisKeys): string[] {
  return [k.head, k.entries, k.data, k.ids, k.times, k.tiles, k.stats];
}

/** Keys in the order the checkpoint script takes them. */
export function checkpointKeys(k: RedisKeys): string[] {
  return [k.checkpoints, k.checkpointSizes];
}
