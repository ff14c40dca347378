/**
 * Columnar, compact storage of one in-memory ledger's entries (see memory-backend.ts).
 *
 * Per entry it keeps raw bytes in shared chunks (hash, data digest, salt, id as 16 bytes), the time
 * in a Float64Array, one flag byte, and three string slots: the data text, the signatures text and
 * either the commitment's `metadata` text (when the commitment has the exact shape the ledger builds,
 * so it can be rebuilt from the columns and the previous row's hash) or the whole commitment text.
 * The id index is an open-addressing table of (hash, position) pairs. Anything that does not fit the columns (only tampering or a
 * foreign builder produces it) is kept as is in `odd`, so every row reads back exactly as written.
 */
import { BuiltRow } from '../../entry/built-row.js';
import type { CommitmentFields } from '../../entry/commitment.js';
import type { StoredEntry } from '../../entry/types.js';

const CHUNK_BITS = 12;
const CHUNK = 1 << CHUNK_BITS;
const MASK = CHUNK - 1;
const SALT_LEN = 32;
const ID_LEN = 16;

const F_COMPACT = 1; // tail holds the metadata text; the commitment is rebuilt on read
const F_SALT = 2; // the salt column holds a salt (else NULL, or see odd.salt)
const F_REDACTION = 4; // compact commitment of type "redaction" (else "event")
const F_ODD = 8; // some value lives in `odd`
const F_ASCII = 16; // compact commitment whose text is all ASCII (rebuilt as bytes in one go)

/** Values that do not fit the columns, by position. */
interface Odd {
  index?: number;
  id?: string;
  hash?: Buffer;
  salt?: Buffer;
}

interface Chunk {
  bytes: Buffer;
  ts: Float64Array;
  flags: Uint8Array;
}

const P_DIGEST = '{"dataDigest":"';
const P_ID = '","id":"';
const P_INDEX = '","index":';
const P_PREV_NULL = ',"prev":null';
const P_PREV = ',"prev":"';
const P_TS = ',"timestamp":"';
const S_EVENT = '","type":"event","v":1}';
const S_REDACTION = '","type":"redaction","v":1}';
const EMPTY_META = '{}';
/** Times from here on (year 10000) have no 24-character ISO text. */
const MAX_TS = 253402300800000;
/** Longer commitments (large metadata) are kept whole: compacting saves little there. */
const MAX_COMPACT = 16384;

/**
 * Buffer's own codecs (present on every Buffer since Node 0.x), without `write`/`toString`'s argument
 * handling, which was a measurable share of an append and of a read.
 */
interface RawCodec {
  utf8Write(s: string, offset: number): number;
  latin1Slice(start: number, end: number): string;
}

/**
 * Bytes of a literal as little-endian 32-bit words plus a tail. The texts are checked and rebuilt as
 * bytes through a DataView, 2 or 4 bytes at a time: several times cheaper than charCodeAt or
 * startsWith on the rope strings the ledger builds.
 */
interface Lit {
  length: number;
  words: Uint32Array;
  rest: Uint8Array;
}

function lit(b: Buffer): Lit {
  const n = b.length >> 2;
  const words = new Uint32Array(n);
  for (let i = 0; i < n; i++) words[i] = b.readUInt32LE(4 * i);
  return { length: b.length, words, rest: Uint8Array.from(b.subarray(4 * n)) };
}

const litOf = (s: string) => lit(Buffer.from(s, 'latin1'));
const L_DIGEST = litOf(P_DIGEST);
const L_ID = litOf(P_ID);
const L_INDEX = litOf(P_INDEX);
const L_PREV_NULL = litOf(P_PREV_NULL);
const L_PREV = litOf(P_PREV);
const L_TS = litOf(P_TS);
const L_EVENT = litOf(S_EVENT);
const L_REDACTION = litOf(S_REDACTION);
const L_EMPTY_META = litOf(EMPTY_META);

/** "000Z".."999Z": the tail of an ISO timestamp by millisecond. */
const MS_TAIL: string[] = Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(3, '0')}Z`);

// Two lowercase hex digits (as a little-endian 16-bit read) -> byte, else -1; and back.
const HEX2 = new Int16Array(65536).fill(-1);
const PAIR = new Uint16Array(256);
for (let v = 0; v < 256; v++) {
  const h = v.toString(16).padStart(2, '0');
  PAIR[v] = h.charCodeAt(0) | (h.charCodeAt(1) << 8);
  HEX2[PAIR[v]!] = v;
}

// One lowercase hex digit by char code (ASCII), else -1.
const HEX1 = new Int8Array(128).fill(-1);
for (let v = 0; v < 16; v++) HEX1[v.toString(16).charCodeAt(0)] = v;

/** Whether the text at `p` starts with `l`. */
function eq(t: DataView, p: number, l: Lit): boolean {
  if (p < 0) return false;
  const w = l.words;
  for (let i = 0; i < w.length; i++) if (t.getUint32(p + 4 * i, true) !== w[i]) return false;
  const r = l.rest;
  const q = p + 4 * w.length;
  for (let i = 0; i < r.length; i++) if (t.getUint8(q + i) !== r[i]) return false;
  return true;
}

/** Write `l` at `p`; returns the position after it. */
function put(t: DataView, p: number, l: Lit): number {
  const w = l.words;
  for (let i = 0; i < w.length; i++) t.setUint32(p + 4 * i, w[i]!, true);
  const r = l.rest;
  const q = p + 4 * w.length;
  for (let i = 0; i < r.length; i++) t.setUint8(q + i, r[i]!);
  return p + l.length;
}

/** Decode `2 * len` lowercase hex digits at `p` into `out[o..]`; false on any other byte. */
function decodeHex(t: DataView, p: number, out: Uint8Array, o: number, len: number): boolean {
  for (let i = 0; i < len; i++) {
    const v = HEX2[t.getUint16(p + 2 * i, true)]!;
    if (v < 0) return false;
    out[o + i] = v;
  }
  return true;
}

/** Whether the text at `p` is the lowercase hex of `bytes[o..o+len]`. */
function hexEquals(t: DataView, p: number, bytes: Uint8Array, o: number, len: number): boolean {
  if (p < 0) return false;
  for (let i = 0; i < len; i++) if (t.getUint16(p + 2 * i, true) !== PAIR[bytes[o + i]!]) return false;
  return true;
}

/** Write the lowercase hex of `bytes[o..o+len]` at `p`. */
function putHex(t: DataView, p: number, bytes: Uint8Array, o: number, len: number): void {
  for (let i = 0; i < len; i++) t.setUint16(p + 2 * i, PAIR[bytes[o + i]!]!, true);
}

/** A new Buffer holding `src[o..o+len]` (a loop beats Buffer#copy at these sizes). */
function copyOut(src: Uint8Array, o: number, len: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) b[i] = src[o + i]!;
  return b;
}

/** `src[0..len]` into `dst[o..]`: TypedArray#set for a whole source (half the time of a loop on Node 20, measured). */
function copyIn(src: Uint8Array, dst: Uint8Array, o: number, len: number): void {
  if (src.length === len) dst.set(src, o);
  else for (let i = 0; i < len; i++) dst[o + i] = src[i]!;
}

/** Write the decimal digits of a non-negative safe integer at `p`; returns the position after them. */
function putInt(t: DataView, p: number, v: number): number {
  let digits = 1;
  for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
  for (let i = digits - 1; i >= 0; i--) {
    t.setUint8(p + i, 48 + (v % 10));
    v = Math.floor(v / 10);
  }
  return p + digits;
}

const UUID_GROUPS = [4, 2, 2, 2, 6];

/** Parse a lowercase 8-4-4-4-12 UUID at `p` into 16 bytes at `out[o..]`; false if it is not exactly that. */
function parseUuid(t: DataView, p: number, out: Uint8Array, o: number): boolean {
  for (let g = 0; g < 5; g++) {
    if (g > 0 && t.getUint8(p++) !== 45) return false;
    if (!decodeHex(t, p, out, o, UUID_GROUPS[g]!)) return false;
    o += UUID_GROUPS[g]!;
    p += 2 * UUID_GROUPS[g]!;
  }
  return true;
}

/** Write the UUID text of `bytes[o..o+16]` at `p`. */
function putUuid(t: DataView, p: number, bytes: Uint8Array, o: number): void {
  for (let g = 0; g < 5; g++) {
    if (g > 0) t.setUint8(p++, 45);
    putHex(t, p, bytes, o, UUID_GROUPS[g]!);
    o += UUID_GROUPS[g]!;
    p += 2 * UUID_GROUPS[g]!;
  }
}

/**
 * Short strings sliced out of a longer one keep the whole parent alive (V8 sliced strings); the JSON
 * round trip makes a standalone copy and is exact for any string.
 */
function standalone(s: string): string {
  return s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string);
}

/** Decode `2 * len` lowercase hex characters of `hex` into `out[o..]`; false unless exactly that. */
function hexInto(hex: string, out: Uint8Array, o: number, len: number): boolean {
  if (hex.length !== 2 * len) return false;
  for (let i = 0; i < len; i++) {
    const a = hex.charCodeAt(2 * i);
    const c = hex.charCodeAt(2 * i + 1);
    const hi = a < 128 ? HEX1[a]! : -1;
    const lo = c < 128 ? HEX1[c]! : -1;
    if ((hi | lo) < 0) return false;
    out[o + i] = (hi << 4) | lo;
  }
  return true;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Texts built by concatenation are rope strings (~4x the text); reading a char flattens them. */
function flat<T extends string | null>(s: T): T {
  if (s !== null && s.length > 0) s.charCodeAt(0);
  return s;
}

/** Bytes of a row for `stats().entryBytes`: the texts as stored plus hash (as hex), salt and times. */
export function rowBytes(e: StoredEntry): number {
  return (
    16 +
    e.id.length +
    2 * e.hash.length +
    e.body.length +
    (e.data?.length ?? 0) +
    (e.salt?.length ?? 0) +
    (e.signatures?.length ?? 0)
  );
}

// Scratch space shared by all ledgers (nothing in between yields): an id's bytes, and a commitment's
// UTF-8 bytes while it is checked or rebuilt.
const ID_SCRATCH = Buffer.alloc(128);
const ID_VIEW = new DataView(ID_SCRATCH.buffer, ID_SCRATCH.byteOffset, ID_SCRATCH.length);
const TEXT = Buffer.alloc(3 * MAX_COMPACT);
const TEXT_VIEW = new DataView(TEXT.buffer, TEXT.byteOffset, TEXT.length);

export class Columns {
  /** Bytes of one entry in a chunk: hash, data digest, salt, id. */
  private readonly stride: number;
  private readonly idOff: number;
  private readonly chunks: Chunk[] = [];
  private tail: string[] = [];
  private data: (string | null)[] = [];
  private sigs: (string | null)[] = [];
  private odd = new Map<number, Odd>();
  private oddIds = new Map<string, number>();
  /** Open addressing (linear probing) on the id bytes: pairs (hash, position + 1), 0 = empty. */
  private ids = new Uint32Array(2 << 6);
  private idBits = 6;
  private readonly idScratch = ID_SCRATCH;
  private readonly idView = ID_VIEW;
  private readonly text = TEXT;
  private readonly view = TEXT_VIEW;
  private readonly raw = TEXT as unknown as RawCodec;
  /** `","ledger":"<id>","metadata":` */
  private readonly ledgerPart: Lit;
  private readonly ledgerPartText: string;
  private secKey = Number.NaN;
  private secPrefix = lit(Buffer.alloc(20));
  private secPrefixText = '';
  private lastMeta = EMPTY_META;
  count = 0;

  private readonly compactBodies: boolean;

  /**
   * @param hashLen bytes of the ledger's entry hash (and data digest)
   * @param compactBodies false when texts are stored compressed: the commitment then stays whole
   */
  constructor(
    private readonly hashLen: number,
    private readonly ledgerId: string,
    compactBodies: boolean,
  ) {
    // Ledger ids are UUIDs; anything else is simply never compacted.
    this.compactBodies = compactBodies && /^[\x20-\x7e]{0,256}$/.test(ledgerId);
    this.stride = 2 * hashLen + SALT_LEN + ID_LEN;
    this.idOff = 2 * hashLen + SALT_LEN;
    this.ledgerPartText = `,"ledger":"${ledgerId}","metadata":`;
    this.ledgerPart = lit(Buffer.from(this.ledgerPartText, 'utf8'));
  }

  /** The chunk holding `pos`, grown to hold it: a small ledger does not pay for a whole chunk. */
  private chunk(pos: number): Chunk {
    const k = pos >>> CHUNK_BITS;
    const i = pos & MASK;
    let c = this.chunks[k];
    if (!c || c.flags.length <= i) {
      let cap = c ? c.flags.length : 64;
      while (cap <= i) cap *= 2;
      const grown = {
        bytes: Buffer.alloc(cap * this.stride),
        ts: new Float64Array(cap),
        flags: new Uint8Array(cap),
      };
      if (c) {
        grown.bytes.set(c.bytes);
        grown.ts.set(c.ts);
        grown.flags.set(c.flags);
      }
      c = grown;
      this.chunks[k] = c;
    }
    return c;
  }

  /** `this.secPrefix` = ISO text `YYYY-MM-DDTHH:MM:SS.` of the second containing `ts` (times mostly ascend). */
  private setSecond(ts: number): void {
    const sec = Math.floor(ts / 1000);
    if (sec !== this.secKey) {
      this.secPrefixText = new Date(sec * 1000).toISOString().slice(0, 20);
      this.secPrefix = litOf(this.secPrefixText);
      this.secKey = sec;
    }
  }

  /** Parse a string id into 16 bytes at `out[o..]`; false unless it is a lowercase UUID. */
  private idBytes(id: string, out: Uint8Array, o: number): boolean {
    if (id.length !== 36) return false;
    // charCodeAt on the (short) id beats a native write into scratch here.
    let p = 0;
    for (let k = 0; k < 16; k++) {
      if (p === 8 || p === 13 || p === 18 || p === 23) {
        if (id.charCodeAt(p) !== 45) return false;
        p++;
      }
      const a = id.charCodeAt(p);
      const b = id.charCodeAt(p + 1);
      const hi = a < 128 ? HEX1[a]! : -1;
      const lo = b < 128 ? HEX1[b]! : -1;
      if ((hi | lo) < 0) return false;
      out[o + k] = (hi << 4) | lo;
      p += 2;
    }
    return true;
  }

  /**
   * Write row `e` at `pos` (≤ count); its texts as stored. The commitment is kept compact only if
   * rebuilding it from the columns (and the previous row's hash) gives exactly `e.body`. Does not
   * touch the id index.
   */
  write(pos: number, e: StoredEntry): void {
    const c = this.chunk(pos);
    const i = pos & MASK;
    const b = c.bytes;
    const o = i * this.stride;
    const H = this.hashLen;
    let odd: Odd | null = null;
    if (e.index !== pos) odd = { index: e.index };
    const hash = e.hash;
    if (hash.length === H) copyIn(hash, b, o, H);
    else {
      b.fill(0, o, o + H);
      odd = { ...odd, hash: Buffer.from(hash) };
    }
    let flags = 0;
    const salt = e.salt;
    if (salt !== null && salt.length === SALT_LEN) {
      copyIn(salt, b, o + 2 * H, SALT_LEN);
      flags |= F_SALT;
    } else {
      b.fill(0, o + 2 * H, o + 2 * H + SALT_LEN);
      if (salt !== null) odd = { ...odd, salt: Buffer.from(salt) };
    }
    c.ts[i] = e.timestampMs;
    let compact = 0;
    if (this.compactBodies) {
      const f = BuiltRow.fieldsOf(e);
      compact = f !== null ? this.compactBuilt(pos, e, f, b, o) : this.compact(pos, e, b, o);
    }
    if (compact === 0) {
      this.tail[pos] = flat(e.body);
      if (!this.idBytes(e.id, b, o + this.idOff)) {
        b.fill(0, o + this.idOff, o + this.stride);
        odd = { ...odd, id: e.id };
      }
    } else flags |= compact;
    if (odd) {
      flags |= F_ODD;
      this.odd.set(pos, odd);
    } else if (pos < this.count) this.odd.delete(pos);
    c.flags[i] = flags;
    this.data[pos] = flat(e.data);
    this.sigs[pos] = flat(e.signatures);
  }

  /**
   * Match `e.body` against the shape the ledger builds (docs/FORMAT.md §2.1) with this row's id,
   * index, time and the previous row's hash. On a match, store the data digest and id in the
   * columns and the metadata text in `tail`, and return the flags; else 0.
   */
  private compact(pos: number, e: StoredEntry, b: Buffer, o: number): number {
    const body = e.body;
    const H = this.hashLen;
    if (body.length > MAX_COMPACT) return 0;
    const t = this.view;
    // UTF-8, not latin1: a non-ASCII char never encodes to ASCII bytes, so every ASCII match below is
    // a match of the text, and outside the metadata byte and char positions agree.
    const n = this.raw.utf8Write(body, 0);
    if (!eq(t, 0, L_DIGEST)) return 0;
    let p = L_DIGEST.length;
    if (!decodeHex(t, p, b, o + H, H)) return 0;
    p += 2 * H;
    if (!eq(t, p, L_ID)) return 0;
    p += L_ID.length;
    if (!parseUuid(t, p, b, o + this.idOff) || body.substring(p, p + 36) !== e.id) return 0;
    p += 36;
    if (!eq(t, p, L_INDEX)) return 0;
    p += L_INDEX.length;
    // The index digits: canonical (no leading zero), at most 15 (exact as a double) and equal to the row's index.
    let idx = 0;
    const d0 = p;
    while (p - d0 < 15 && t.getUint8(p) >= 48 && t.getUint8(p) <= 57) idx = idx * 10 + t.getUint8(p++) - 48;
    if (p === d0 || (t.getUint8(d0) === 48 && p - d0 > 1) || idx !== e.index) return 0;
    if (!eq(t, p, this.ledgerPart)) return 0;
    p += this.ledgerPart.length;
    const metaStart = p;
    let flags = F_COMPACT;
    let q = n;
    if (eq(t, n - L_EVENT.length, L_EVENT)) q -= L_EVENT.length;
    else if (eq(t, n - L_REDACTION.length, L_REDACTION)) {
      q -= L_REDACTION.length;
      flags |= F_REDACTION;
    } else return 0;
    // Timestamp: exactly the 24-character ISO text of the time column.
    const ts = e.timestampMs;
    if (!Number.isInteger(ts) || ts < 0 || ts >= MAX_TS) return 0;
    q -= 24;
    if (q < 0) return 0;
    this.setSecond(ts);
    const ms = ts % 1000;
    if (
      !eq(t, q, this.secPrefix) ||
      t.getUint8(q + 20) !== 48 + Math.floor(ms / 100) ||
      t.getUint8(q + 21) !== 48 + (Math.floor(ms / 10) % 10) ||
      t.getUint8(q + 22) !== 48 + (ms % 10) ||
      t.getUint8(q + 23) !== 90
    )
      return 0;
    q -= L_TS.length;
    if (!eq(t, q, L_TS)) return 0;
    if (pos === 0) {
      q -= L_PREV_NULL.length;
      if (!eq(t, q, L_PREV_NULL)) return 0;
    } else {
      const prev = this.hashRef(pos - 1);
      q -= 1;
      if (q < 0 || t.getUint8(q) !== 34) return 0;
      q -= 2 * prev.len;
      if (!hexEquals(t, q, prev.bytes, prev.off, prev.len)) return 0;
      q -= L_PREV.length;
      if (!eq(t, q, L_PREV)) return 0;
    }
    if (q < metaStart) return 0;
    if (n === body.length) flags |= F_ASCII;
    let meta: string;
    if (q - metaStart === 2 && eq(t, metaStart, L_EMPTY_META)) meta = EMPTY_META;
    else {
      // Everything after the metadata is ASCII: its char length is its byte length.
      meta = body.slice(metaStart, body.length - (n - q));
      if (meta !== this.lastMeta) this.lastMeta = standalone(meta);
      meta = this.lastMeta;
    }
    this.tail[pos] = meta;
    return flags;
  }

  /**
   * compact() for a row the ledger built, from the fields its commitment was made of (BuiltRow):
   * the same checks without reading the text back. The id and index are the row's own (fieldsOf).
   */
  private compactBuilt(
    pos: number,
    e: StoredEntry,
    f: Readonly<CommitmentFields>,
    b: Buffer,
    o: number,
  ): number {
    const H = this.hashLen;
    const body = e.body;
    if (body.length > MAX_COMPACT || f.ledgerId !== this.ledgerId || f.index !== pos) return 0;
    if (!hexInto(f.dataDigest, b, o + H, H) || !this.idBytes(e.id, b, o + this.idOff)) return 0;
    let flags = F_COMPACT;
    if (f.type === 'redaction') flags |= F_REDACTION;
    else if (f.type !== 'event') return 0;
    const ts = e.timestampMs;
    if (!Number.isInteger(ts) || ts < 0 || ts >= MAX_TS) return 0;
    const iso = f.timestamp;
    if (iso !== this.checkedIso || ts !== this.checkedTs) {
      if (!this.isIsoOf(iso, ts)) return 0;
      // Entries of one millisecond share one text: check it once.
      this.checkedIso = iso;
      this.checkedTs = ts;
    }
    if (pos === 0 ? f.prev !== null : f.prev === null || !this.isHashHex(pos - 1, f.prev)) return 0;
    // Equal metadata texts share one string (as compact() does).
    let meta = f.metadataText;
    if (meta === EMPTY_META) {
      meta = EMPTY_META;
      flags |= F_ASCII;
    } else {
      if (meta === this.lastMeta) meta = this.lastMeta;
      else this.lastMeta = meta;
      if (isAscii(meta)) flags |= F_ASCII;
    }
    this.tail[pos] = meta;
    return flags;
  }

  private checkedIso = '';
  private checkedTs = Number.NaN;

  /** Whether `iso` is the 24-character ISO text of `ts` (an integer time in range). */
  private isIsoOf(iso: string, ts: number): boolean {
    this.setSecond(ts);
    const ms = ts % 1000;
    return (
      iso.length === 24 &&
      iso.startsWith(this.secPrefixText) &&
      iso.charCodeAt(20) === 48 + Math.floor(ms / 100) &&
      iso.charCodeAt(21) === 48 + (Math.floor(ms / 10) % 10) &&
      iso.charCodeAt(22) === 48 + (ms % 10) &&
      iso.charCodeAt(23) === 90
    );
  }

  /** Whether `hex` is the lowercase hex of the hash stored at `pos`. */
  private isHashHex(pos: number, hex: string): boolean {
    const r = this.hashRef(pos);
    if (hex.length !== 2 * r.len) return false;
    for (let i = 0; i < r.len; i++) {
      const pair = PAIR[r.bytes[r.off + i]!]!;
      if (hex.charCodeAt(2 * i) !== (pair & 0xff) || hex.charCodeAt(2 * i + 1) !== pair >>> 8) return false;
    }
    return true;
  }

  private readonly ref: { bytes: Buffer; off: number; len: number } = {
    bytes: Buffer.alloc(0),
    off: 0,
    len: 0,
  };

  /** Where the hash of `pos` is (reused object: read it before the next call). */
  private hashRef(pos: number): { bytes: Buffer; off: number; len: number } {
    const c = this.chunks[pos >>> CHUNK_BITS]!;
    const r = this.ref;
    const i = pos & MASK;
    const h = c.flags[i]! & F_ODD ? this.odd.get(pos)!.hash : undefined;
    if (h) {
      r.bytes = h;
      r.off = 0;
      r.len = h.length;
    } else {
      r.bytes = c.bytes;
      r.off = i * this.stride;
      r.len = this.hashLen;
    }
    return r;
  }

  private idAt(pos: number): string {
    const c = this.chunks[pos >>> CHUNK_BITS]!;
    const i = pos & MASK;
    if (c.flags[i]! & F_ODD) {
      const id = this.odd.get(pos)!.id;
      if (id !== undefined) return id;
    }
    putUuid(this.idView, 0, c.bytes, i * this.stride + this.idOff);
    return this.idScratch.toString('latin1', 0, 36);
  }

  timeAt(pos: number): number {
    return this.chunks[pos >>> CHUNK_BITS]!.ts[pos & MASK]!;
  }

  /** The row at `pos` exactly as written (texts as stored: compressed frames when compressing). */
  read(pos: number): StoredEntry {
    const c = this.chunks[pos >>> CHUNK_BITS]!;
    const i = pos & MASK;
    const flags = c.flags[i]!;
    const o = i * this.stride;
    const H = this.hashLen;
    const odd = flags & F_ODD ? this.odd.get(pos)! : undefined;
    const index = odd?.index ?? pos;
    const ts = c.ts[i]!;
    const hash = odd?.hash ? Buffer.from(odd.hash) : copyOut(c.bytes, o, H);
    const salt = odd?.salt
      ? Buffer.from(odd.salt)
      : flags & F_SALT
        ? copyOut(c.bytes, o + 2 * H, SALT_LEN)
        : null;
    let body = this.tail[pos]!;
    let id: string;
    if (!(flags & F_COMPACT)) id = this.idAt(pos);
    else if (flags & F_ASCII) {
      // Rebuild the whole text as bytes: one flat string, and the id is a slice of it.
      const t = this.view;
      let p = put(t, 0, L_DIGEST);
      putHex(t, p, c.bytes, o + H, H);
      p = put(t, p + 2 * H, L_ID);
      const idAt = p;
      putUuid(t, p, c.bytes, o + this.idOff);
      p = put(t, p + 36, L_INDEX);
      p = putInt(t, p, index);
      p = put(t, p, this.ledgerPart);
      p = body === EMPTY_META ? put(t, p, L_EMPTY_META) : p + this.text.write(body, p, 'latin1');
      if (pos === 0) p = put(t, p, L_PREV_NULL);
      else {
        p = put(t, p, L_PREV);
        const prev = this.hashRef(pos - 1);
        putHex(t, p, prev.bytes, prev.off, prev.len);
        p += 2 * prev.len;
        t.setUint8(p++, 34);
      }
      p = put(t, p, L_TS);
      this.setSecond(ts);
      p = put(t, p, this.secPrefix);
      const ms = ts % 1000;
      t.setUint8(p, 48 + Math.floor(ms / 100));
      t.setUint8(p + 1, 48 + (Math.floor(ms / 10) % 10));
      t.setUint8(p + 2, 48 + (ms % 10));
      t.setUint8(p + 3, 90);
      p = put(t, p + 4, flags & F_REDACTION ? L_REDACTION : L_EVENT);
      body = this.raw.latin1Slice(0, p);
      id = body.slice(idAt, idAt + 36);
    } else {
      id = this.idAt(pos);
      const prev = pos === 0 ? P_PREV_NULL : `${P_PREV}${this.hashHex(pos - 1)}"`;
      this.setSecond(ts);
      body =
        P_DIGEST +
        c.bytes.toString('hex', o + H, o + 2 * H) +
        P_ID +
        id +
        P_INDEX +
        index +
        this.ledgerPartText +
        body +
        prev +
        P_TS +
        this.secPrefixText +
        MS_TAIL[ts % 1000] +
        (flags & F_REDACTION ? S_REDACTION : S_EVENT);
    }
    return {
      index,
      id,
      timestampMs: ts,
      hash,
      body,
      data: this.data[pos]!,
      salt,
      signatures: this.sigs[pos]!,
    };
  }

  private hashHex(pos: number): string {
    const r = this.hashRef(pos);
    return r.bytes.toString('hex', r.off, r.off + r.len);
  }

  /** Stored data text at `pos`. */
  dataAt(pos: number): string | null {
    return this.data[pos]!;
  }

  /** Bytes of the salt at `pos` (0 when NULL). */
  saltLengthAt(pos: number): number {
    const c = this.chunks[pos >>> CHUNK_BITS]!;
    const i = pos & MASK;
    const odd = c.flags[i]! & F_ODD ? this.odd.get(pos)!.salt : undefined;
    return odd ? odd.length : c.flags[i]! & F_SALT ? SALT_LEN : 0;
  }

  /** Erase data and salt (redaction). */
  erase(pos: number): void {
    const c = this.chunks[pos >>> CHUNK_BITS]!;
    const i = pos & MASK;
    const o = i * this.stride + 2 * this.hashLen;
    c.bytes.fill(0, o, o + SALT_LEN);
    c.flags[i]! &= ~F_SALT;
    if (c.flags[i]! & F_ODD) this.odd.get(pos)!.salt = undefined;
    this.data[pos] = null;
  }

  /**
   * Keep row `pos` reading back the same while the row before it changes: its compact commitment
   * is rebuilt from that row's hash, so store it whole.
   */
  pin(pos: number): void {
    if (pos >= this.count) return;
    const c = this.chunks[pos >>> CHUNK_BITS]!;
    const i = pos & MASK;
    if (!(c.flags[i]! & F_COMPACT)) return;
    this.tail[pos] = flat(this.read(pos).body);
    c.flags[i]! &= ~(F_COMPACT | F_REDACTION | F_ASCII);
  }

  /** Forget rows from `n` on. */
  truncate(n: number): void {
    this.count = n;
    this.tail.length = n;
    this.data.length = n;
    this.sigs.length = n;
    this.chunks.length = (n + MASK) >>> CHUNK_BITS;
    for (const k of [...this.odd.keys()]) if (k >= n) this.odd.delete(k);
    this.rebuildIds();
  }

  // ---- id index ----

  private hashId(b: Uint8Array, o: number): number {
    const x =
      (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) ^
      (b[o + 12]! | (b[o + 13]! << 8) | (b[o + 14]! << 16) | (b[o + 15]! << 24));
    return Math.imul(x, 0x9e3779b1) >>> 0;
  }

  private sameId(pos: number, b: Uint8Array, o: number): boolean {
    const cb = this.chunks[pos >>> CHUNK_BITS]!.bytes;
    const co = (pos & MASK) * this.stride + this.idOff;
    for (let k = 0; k < ID_LEN; k++) if (cb[co + k] !== b[o + k]) return false;
    return true;
  }

  /** Slot pair (hash, position + 1) holding the id at `b[o..]`, or the empty pair where it would go. */
  private probe(b: Uint8Array, o: number, h: number): number {
    const ids = this.ids;
    const mask = ids.length - 2;
    // The hash is kept next to the position: a mismatch costs no look-up of the row's id bytes.
    for (let s = (h >>> (32 - this.idBits)) << 1; ; s = (s + 2) & mask) {
      const v = ids[s + 1]!;
      if (v === 0 || (ids[s] === h && this.sameId(v - 1, b, o))) return s;
    }
  }

  /** Position of the row with this id, or -1. */
  find(id: string): number {
    const key = this.idScratch;
    if (!this.idBytes(id, key, 64)) return this.oddIds.get(id) ?? -1;
    return this.ids[this.probe(key, 64, this.hashId(key, 64)) + 1]! - 1;
  }

  /** Index row `pos`'s id (already written); false if another row has it. */
  addId(pos: number): boolean {
    const c = this.chunks[pos >>> CHUNK_BITS]!;
    if (c.flags[pos & MASK]! & F_ODD) {
      const id = this.odd.get(pos)!.id;
      if (id !== undefined) {
        if (this.oddIds.has(id)) return false;
        this.oddIds.set(id, pos);
        return true;
      }
    }
    // Grow at 3/4 load.
    if ((pos + 1) * 8 > this.ids.length * 3) {
      this.idBits++;
      this.ids = new Uint32Array(2 << this.idBits);
      this.oddIds = new Map();
      for (let p = 0; p < pos; p++) this.addId(p);
    }
    const o = (pos & MASK) * this.stride + this.idOff;
    const h = this.hashId(c.bytes, o);
    const s = this.probe(c.bytes, o, h);
    if (this.ids[s + 1] !== 0) return false;
    this.ids[s] = h;
    this.ids[s + 1] = pos + 1;
    return true;
  }

  /** Re-index ids of rows [0, count) (after tampering or a failed batch); first wins on duplicates. */
  rebuildIds(): void {
    this.ids = new Uint32Array(this.ids.length);
    this.oddIds = new Map();
    for (let p = 0; p < this.count; p++) this.addId(p);
  }
}
