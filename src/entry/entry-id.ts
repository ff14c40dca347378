/**
 * Entry ids: UUID version 7 (RFC 9562 §5.7) carrying the entry's millisecond timestamp. Time-ordered
 * ids keep every database's unique index on `id` append-mostly instead of inserting at random
 * places (measured: random v4 ids halve SQLite's durable insert rate at 200,000 rows). The random
 * bits come from crypto.randomUUID (its 74 bits after the version nibble: rand_a, variant, rand_b).
 * The id reveals nothing new: the timestamp is in the entry anyway.
 */
import { randomUUID } from 'node:crypto';

const MAX_MS = 2 ** 48 - 1;
let cachedMs = Number.NaN;
let cachedPrefix = '';

export function entryId(ms: number): string {
  // Outside v7's 48-bit time range (or not an integer): a random v4 UUID.
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_MS) return randomUUID();
  if (ms !== cachedMs) {
    const t = ms.toString(16).padStart(12, '0');
    cachedMs = ms;
    cachedPrefix = `${t.slice(0, 8)}-${t.slice(8, 12)}-7`;
  }
  // randomUUID() is "xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx": keep everything after the version digit.
  const id = cachedPrefix + randomUUID().slice(15);
  id.charCodeAt(0); // flatten the rope while young (see commitment.ts flatten)
  return id;
}
