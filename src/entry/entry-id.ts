/**
 * Entry ids: UUID version 7 (RFC 9562 §5.7) carrying the entry's millisecond timestamp. Time-ordered
 * ids keep every database's unique index on `id` append-mostly instead of inserting at random
 * places (measured: random v4 ids halve SQLite's durable insert rate at 200,000 rows). The 74
 * random bits (rand_a, rand_b) come from the CSPRNG through a pool filled 8 KiB at a time, as
 * salts are: one randomFillSync per 819 ids. The text is written as bytes into a scratch buffer and
 * read out as one flat string: 4x cheaper than slicing a randomUUID() and no rope (measured). The id
 * reveals nothing new: the timestamp is in the entry anyway.
 */
import { randomFillSync, randomUUID } from 'node:crypto';

const MAX_MS = 2 ** 48 - 1;
let cachedMs = Number.NaN;

const RANDOM_BYTES = 10;
const POOL = 819 * RANDOM_BYTES;
let pool = Buffer.allocUnsafe(0);
let offset = POOL;

// Two lowercase hex digits of a byte as a little-endian 16-bit pair of ASCII codes.
const PAIR = new Uint16Array(256);
for (let v = 0; v < 256; v++) {
  const h = v.toString(16).padStart(2, '0');
  PAIR[v] = h.charCodeAt(0) | (h.charCodeAt(1) << 8);
}
const DIGIT = Buffer.from('0123456789abcdef', 'latin1');

// "tttttttt-tttt-7aaa-Vbbb-bbbbbbbbbbbb": the first 15 characters are written once per millisecond.
const text = Buffer.alloc(36);
const codec = text as unknown as {
  latin1Write(s: string, offset: number, length: number): number;
  latin1Slice(start: number, end: number): string;
};
text[18] = 0x2d;
text[23] = 0x2d;

function putPair(at: number, byte: number): void {
  const p = PAIR[byte]!;
  text[at] = p & 0xff;
  text[at + 1] = p >>> 8;
}

export function entryId(ms: number): string {
  // Outside v7's 48-bit time range (or not an integer): a random v4 UUID.
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_MS) return randomUUID();
  if (ms !== cachedMs) {
    const t = ms.toString(16).padStart(12, '0');
    cachedMs = ms;
    codec.latin1Write(`${t.slice(0, 8)}-${t.slice(8, 12)}-7`, 0, 15);
  }
  if (offset >= pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL));
    offset = 0;
  }
  const b = pool;
  const o = offset;
  offset += RANDOM_BYTES;
  // 12 bits rand_a, then the variant bits 10 and 62 bits rand_b.
  text[15] = DIGIT[b[o]! & 0x0f]!;
  putPair(16, b[o + 1]!);
  putPair(19, (b[o + 2]! & 0x3f) | 0x80);
  putPair(21, b[o + 3]!);
  for (let k = 0; k < 6; k++) putPair(24 + 2 * k, b[o + 4 + k]!);
  return codec.latin1Slice(0, 36);
}
