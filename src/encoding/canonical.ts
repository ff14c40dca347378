/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) for values that come from user code.
 *
 * One recursive walk validates the value, writes the canonical text and (for prepareJson)
 * builds a deeply frozen copy. Every property is read exactly once, so the text and the copy
 * always describe the same data even if the input is mutated concurrently or by a Proxy.
 */
import { hash as oneShotHash } from 'node:crypto';
import { ConfigurationError, SignLedgerError, ValidationError } from '../errors.js';
import { PrefixViews } from './prefix-views.js';

export type JsonPrimitive = null | boolean | number | string;
export type JsonArray = readonly JsonValue[];
export type JsonObject = { readonly [key: string]: JsonValue };
export type JsonValue = JsonPrimitive | JsonArray | JsonObject;

export interface CanonicalOptions {
  /** `'iso'` (default): a valid Date becomes its `toISOString()` string. `'reject'`: Dates are NOT_JSON. */
  dates?: 'iso' | 'reject';
  /** Largest allowed UTF-8 size of the canonical text; larger throws TOO_LARGE. Default: no limit. */
  maxBytes?: number;
  /** Deepest allowed nesting of arrays/objects (a top-level `{}` is depth 1). Default 64. */
  maxDepth?: number;
}

export interface PreparedJson {
  /** RFC 8785 canonical text. */
  readonly text: string;
  /** Deeply frozen copy sharing nothing with the input; `JSON.parse(text)` deep-equals it. */
  readonly copy: JsonValue;
}

export const DEFAULT_MAX_DEPTH = 64;
/** Hard cap on any depth limit: keeps the recursive walk far from the engine's stack limit. */
export const MAX_DEPTH_LIMIT = 1000;

/** Below this length a JS scan beats the native isWellFormed + JSON.stringify calls. */
const SHORT_STRING = 48;
/** Below this many keys insertion sort beats Array.prototype.sort (which also stringifies). */
const SHORT_KEYS = 24;

/**
 * Buffer's own codecs (on every Buffer), without `write`/`toString`'s argument handling.
 * `utf8Write` writes at most what fits; callers make room first.
 */
interface RawCodec {
  utf8Write(s: string, offset: number): number;
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

interface Walk {
  isoDates: boolean;
  maxDepth: number;
  /** false for canonicalize(): skip building the copy. */
  copy: boolean;
  /**
   * The canonical text as UTF-8 bytes in `out[0..pos)`: written in place, read out as one flat
   * string at the end (a string built by `+=` is a rope of one heap node per piece, which was most
   * of the bytes allocated per appended entry, measured).
   */
  out: Buffer;
  /** Where the text starts in `out` (after a prefix room left by prepareSalted). */
  start: number;
  pos: number;
  /** Every byte written so far is ASCII (the text is read out as latin1, the cheaper decoder). */
  ascii: boolean;
  /**
   * Path from the root to the value being visited (for error messages only): `keys[0..nkeys)`.
   * Both stacks keep their length and are indexed by hand: V8 shrinks an array that push/pop
   * empties, and every walk then allocated them again (measured).
   */
  readonly keys: (string | number)[];
  nkeys: number;
  /** Containers currently open, root first (`open[0..depth)`): cycle detection and the depth. */
  readonly open: (object | null)[];
  depth: number;
}

// One walk (and its buffer) serves every call: the walk is synchronous, but a Proxy's traps are
// user code that may canonicalize again while a walk is in progress, so a nested call gets its own.
const SCRATCH_BYTES = 16 * 1024;
/** A buffer grown past this is not kept for the next walk. */
const KEEP_BYTES = 1024 * 1024;
/** A walk with an empty buffer of `bytes`; `begin` sets its options and resets its cursors. */
function newWalk(bytes: number): Walk {
  return {
    isoDates: true,
    maxDepth: DEFAULT_MAX_DEPTH,
    copy: false,
    out: Buffer.allocUnsafe(bytes),
    start: 0,
    pos: 0,
    ascii: true,
    keys: [],
    nkeys: 0,
    open: [],
    depth: 0,
  };
}
const shared: Walk = newWalk(SCRATCH_BYTES);
let sharedBusy = false;

/** RFC 8785 canonical text of `value`. */
export function canonicalize(value: unknown, options?: CanonicalOptions): string {
  const walk = begin(options, false);
  try {
    visit(value, walk);
    const text = textOf(walk);
    checkSize(text, options);
    return text;
  } catch (err) {
    return foreign(walk, err);
  } finally {
    end(walk);
  }
}

/** RFC 8785 canonical UTF-8 bytes of `value`. */
export function canonicalizeBytes(value: unknown, options?: CanonicalOptions): Buffer {
  const walk = begin(options, false);
  try {
    visit(value, walk);
    const bytes = Buffer.from(walk.out.subarray(0, walk.pos));
    if (options?.maxBytes !== undefined && bytes.length > options.maxBytes)
      tooLarge(bytes.length, options.maxBytes);
    return bytes;
  } catch (err) {
    return foreign(walk, err);
  } finally {
    end(walk);
  }
}

/** prepareSalted's result: `copy` is null when no copy was asked for. */
export interface SaltedJson {
  readonly text: string;
  readonly copy: JsonValue | null;
  /** HASH(prefix || UTF-8(text)) as lowercase hex. */
  readonly digest: string;
}

/**
 * canonicalize() (or prepareJson() with `copy`) that also hashes the text after `prefix`, from the
 * UTF-8 bytes the walk wrote: HASH(prefix || UTF-8(text)), without encoding the text a second time
 * (an entry's salted data digest). Checks and errors are those of canonicalize.
 */
export function prepareSalted(
  value: unknown,
  options: CanonicalOptions | undefined,
  copy: boolean,
  prefix: Uint8Array,
  algorithm: string,
): SaltedJson {
  const walk = begin(options, copy);
  const n = prefix.length;
  walk.start = n;
  walk.pos = n;
  try {
    room(walk, 0);
    const c = visit(value, walk);
    const text = textOf(walk);
    checkSize(text, options);
    const out = walk.out;
    for (let i = 0; i < n; i++) out[i] = prefix[i]!;
    const digest = oneShotHash(algorithm, viewOf(out, walk.pos), 'hex');
    return { text, copy: copy ? c : null, digest };
  } catch (err) {
    return foreign(walk, err);
  } finally {
    end(walk);
  }
}

// Views of the shared walk's buffer by length (a walk of its own, when one is nested, gets fresh ones).
const sharedViews = new PrefixViews();

function viewOf(out: Buffer, length: number): Buffer {
  return out === shared.out ? sharedViews.of(out, length) : out.subarray(0, length);
}

/**
 * Validate, canonicalize and deep-copy `value` in one walk. The copy is frozen at every level,
 * holds Dates as ISO strings and -0 as 0, and has its members in canonical order.
 */
export function prepareJson(value: unknown, options?: CanonicalOptions): PreparedJson {
  const walk = begin(options, true);
  try {
    const copy = visit(value, walk);
    const text = textOf(walk);
    checkSize(text, options);
    return { text, copy };
  } catch (err) {
    return foreign(walk, err);
  } finally {
    end(walk);
  }
}

// The options object last checked: callers pass the same one again and again (prepareEntry does).
let checkedOptions: CanonicalOptions | undefined;
let checkedIso = true;
let checkedDepth = DEFAULT_MAX_DEPTH;

function begin(options: CanonicalOptions | undefined, copy: boolean): Walk {
  let isoDates = true;
  let maxDepth = DEFAULT_MAX_DEPTH;
  if (options !== undefined) {
    if (options === checkedOptions) {
      isoDates = checkedIso;
      maxDepth = checkedDepth;
    } else {
      const { dates, maxDepth: depth, maxBytes } = options;
      if (dates !== undefined && dates !== 'iso' && dates !== 'reject') {
        throw new ConfigurationError(`dates must be 'iso' or 'reject', got ${String(dates)}`);
      }
      isoDates = dates !== 'reject';
      if (depth !== undefined) {
        if (!Number.isInteger(depth) || depth < 0 || depth > MAX_DEPTH_LIMIT) {
          throw new ConfigurationError(`maxDepth must be an integer from 0 to ${MAX_DEPTH_LIMIT}`);
        }
        maxDepth = depth;
      }
      if (maxBytes !== undefined && !(Number.isInteger(maxBytes) && maxBytes >= 0)) {
        throw new ConfigurationError('maxBytes must be a non-negative integer');
      }
      // Remembered only when frozen: a mutable options object may change before the next call.
      if (Object.isFrozen(options)) {
        checkedOptions = options;
        checkedIso = isoDates;
        checkedDepth = maxDepth;
      }
    }
  }
  let walk: Walk;
  if (!sharedBusy) {
    sharedBusy = true;
    walk = shared;
  } else walk = newWalk(1024);
  walk.isoDates = isoDates;
  walk.maxDepth = maxDepth;
  walk.copy = copy;
  walk.start = 0;
  walk.pos = 0;
  walk.ascii = true;
  walk.nkeys = 0;
  walk.depth = 0;
  return walk;
}

/** Release the walk (after success or any throw): the shared one is reset for the next call. */
function end(walk: Walk): void {
  if (walk !== shared) return;
  // After a throw: drop the references to the caller's objects still on the stack.
  for (let i = 0; i < walk.depth; i++) walk.open[i] = null;
  if (walk.out.length > KEEP_BYTES) walk.out = Buffer.allocUnsafe(SCRATCH_BYTES);
  sharedBusy = false;
}

/** The text written so far, as one flat string. */
function textOf(walk: Walk): string {
  const raw = walk.out as unknown as RawCodec;
  return walk.ascii ? raw.latin1Slice(walk.start, walk.pos) : raw.utf8Slice(walk.start, walk.pos);
}

/** Make room for `n` more bytes. */
function room(walk: Walk, n: number): Buffer {
  const out = walk.out;
  if (walk.pos + n <= out.length) return out;
  const grown = Buffer.allocUnsafe(Math.max(2 * out.length, walk.pos + n));
  out.copy(grown, 0, 0, walk.pos);
  walk.out = grown;
  return grown;
}

/** Append a string of ASCII characters (digits, ISO times, literals). */
function putAscii(walk: Walk, s: string): void {
  const n = s.length;
  const out = room(walk, n);
  let p = walk.pos;
  for (let i = 0; i < n; i++) out[p++] = s.charCodeAt(i);
  walk.pos = p;
}

/** Append any well-formed string as UTF-8. */
function putText(walk: Walk, s: string): void {
  const out = room(walk, 3 * s.length);
  const n = (out as unknown as RawCodec).utf8Write(s, walk.pos);
  // A non-ASCII character is 2 or more bytes: the byte count equals the length only for ASCII.
  if (n !== s.length) walk.ascii = false;
  walk.pos += n;
}

function putByte(walk: Walk, b: number): void {
  const out = room(walk, 1);
  out[walk.pos++] = b;
}

/** Decimal digits of a non-negative safe integer. */
function putUint(walk: Walk, v: number): void {
  let digits = 1;
  for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
  const out = room(walk, digits);
  const p = walk.pos;
  for (let i = digits - 1; i >= 0; i--) {
    out[p + i] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
  walk.pos = p + digits;
}

function checkSize(text: string, options: CanonicalOptions | undefined): void {
  const max = options?.maxBytes;
  if (max === undefined) return;
  // A UTF-16 code unit is 1 to 3 UTF-8 bytes (a surrogate pair is 4 for 2 units), so the
  // length alone decides most cases without scanning the text.
  if (text.length * 3 <= max) return;
  if (text.length > max) tooLarge(undefined, max);
  const size = Buffer.byteLength(text, 'utf8');
  if (size > max) tooLarge(size, max);
}

/** `size` is undefined when only a lower bound was computed. */
function tooLarge(size: number | undefined, max: number): never {
  const is = size === undefined ? `over ${max}` : String(size);
  throw new ValidationError(`canonical JSON is ${is} bytes, limit is ${max}`, {
    code: 'TOO_LARGE',
    path: '',
    details: { limit: max },
  });
}

function visit(v: unknown, walk: Walk): JsonValue {
  switch (typeof v) {
    case 'string':
      putString(v, walk);
      return v;
    case 'number':
      if (!Number.isFinite(v)) fail(walk, `${v} is not a finite number`);
      // ECMAScript Number::toString, which RFC 8785 adopts (-0 gives "0"); safe integers are
      // exactly their decimal digits, written without a string.
      if (Number.isSafeInteger(v)) {
        if (v < 0) {
          putByte(walk, 0x2d);
          putUint(walk, -v);
        } else putUint(walk, v);
      } else putAscii(walk, String(v));
      return v === 0 ? 0 : v;
    case 'boolean':
      putAscii(walk, v ? 'true' : 'false');
      return v;
    case 'object':
      if (v === null) {
        putAscii(walk, 'null');
        return null;
      }
      return visitObject(v, walk);
    case 'undefined':
      return fail(walk, 'undefined is not a JSON value (use null, or leave the property out)');
    case 'bigint':
      return fail(walk, 'a BigInt is not a JSON value (store it as a string)');
    default:
      return fail(walk, `a ${typeof v} is not a JSON value`);
  }
}

function visitObject(v: object, walk: Walk): JsonValue {
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto === Array.prototype && Array.isArray(v)) return visitArray(v, walk);
  if (proto === Object.prototype || proto === null) return visitPlain(v as Record<string, unknown>, walk);
  if (v instanceof Date) return visitDate(v, walk);
  return fail(walk, `${describe(v)} is not a plain object or array`);
}

function enter(v: object, walk: Walk): void {
  const open = walk.open;
  const depth = walk.depth;
  if (depth >= walk.maxDepth) {
    fail(walk, `nesting is deeper than ${walk.maxDepth} levels`, 'TOO_LARGE');
  }
  for (let at = 0; at < depth; at++) {
    if (open[at] !== v) continue;
    const path = pointer(walk.keys, walk.nkeys);
    throw new ValidationError(`cycle at ${path}: the value refers back to ${where(walk.keys, at)}`, {
      code: 'NOT_JSON',
      path,
    });
  }
  open[depth] = v;
  walk.depth = depth + 1;
}

function leave(walk: Walk): void {
  walk.open[--walk.depth] = null;
}

function visitArray(arr: readonly unknown[], walk: Walk): JsonValue {
  enter(arr, walk);
  const n = arr.length;
  // Names besides the indexes and `length` (arr.note = 'x', or a non-enumerable one) would be dropped,
  // as JSON.stringify drops them: refused, like extra names anywhere else. Fewer names mean holes,
  // which the loop reports where they are.
  if (Object.getOwnPropertyNames(arr).length > n + 1 || Object.getOwnPropertySymbols(arr).length !== 0)
    fail(walk, 'arrays must not have named (non-index) properties');
  const out: JsonValue[] | undefined = walk.copy ? [] : undefined;
  const keys = walk.keys;
  const k = walk.nkeys++;
  putByte(walk, 0x5b); // [
  for (let i = 0; i < n; i++) {
    if (i !== 0) putByte(walk, 0x2c); // ,
    keys[k] = i;
    const item = arr[i];
    // Holes read as undefined: tell them apart only on the error path.
    if (item === undefined && !(i in arr)) fail(walk, 'arrays must not have holes (sparse array)');
    const c = visit(item, walk);
    if (out !== undefined) out.push(c);
  }
  walk.nkeys = k;
  putByte(walk, 0x5d); // ]
  leave(walk);
  return out === undefined ? null : Object.freeze(out);
}

function visitPlain(obj: Record<string, unknown>, walk: Walk): JsonValue {
  enter(obj, walk);
  // getOwnPropertyNames also lists non-enumerable names, which JSON.stringify would drop silently.
  const listed = Object.getOwnPropertyNames(obj);
  if (Object.getOwnPropertySymbols(obj).length !== 0)
    fail(walk, 'objects must not have symbol-keyed properties');
  const names = sortedNames(listed, walk.depth - 1);
  const out: Record<string, JsonValue> | undefined = walk.copy ? {} : undefined;
  const keys = walk.keys;
  const k = walk.nkeys++;
  putByte(walk, 0x7b); // {
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    keys[k] = name;
    const d = Object.getOwnPropertyDescriptor(obj, name);
    // A Proxy may report a name and then no descriptor; a data descriptor always has `writable`.
    if (d === undefined || d.writable === undefined)
      fail(walk, 'accessor (getter/setter) properties are not allowed');
    if (!d.enumerable) fail(walk, 'non-enumerable properties are not allowed');
    if (i !== 0) putByte(walk, 0x2c); // ,
    putMemberName(name, walk);
    const c = visit(d.value, walk);
    if (out !== undefined) {
      // Plain assignment of "__proto__" would set the prototype instead of a property.
      if (name === '__proto__') {
        Object.defineProperty(out, name, { value: c, enumerable: true, writable: true, configurable: true });
      } else {
        out[name] = c;
      }
    }
  }
  walk.nkeys = k;
  putByte(walk, 0x7d); // }
  leave(walk);
  return out === undefined ? null : Object.freeze(out);
}

function visitDate(d: Date, walk: Walk): JsonValue {
  let time: number;
  try {
    time = Date.prototype.getTime.call(d); // brand check: throws for Object.create(Date.prototype)
  } catch {
    return fail(walk, `${describe(d)} is not a plain object or array`);
  }
  if (!walk.isoDates) fail(walk, "a Date is not allowed here (dates: 'reject'); pass an ISO string");
  if (Number.isNaN(time)) fail(walk, 'invalid Date');
  const iso = Date.prototype.toISOString.call(d);
  putByte(walk, 0x22);
  putAscii(walk, iso);
  putByte(walk, 0x22);
  return iso;
}

// `"name":` as bytes, by name: objects of one application repeat their names, and copying the
// cached bytes replaces quoting and encoding the name each time. Only ASCII names are cached
// (bounded: names up to 64 characters, cleared when full).
const MEMBER_NAMES = new Map<string, Uint8Array>();
const MEMBER_CACHE = 4096;
const CACHED_NAME = 64;

function putMemberName(name: string, walk: Walk): void {
  const bytes = MEMBER_NAMES.get(name);
  if (bytes === undefined) {
    // putString() validates the name; only names it accepted are cached.
    const at = walk.pos;
    const ascii = walk.ascii;
    walk.ascii = true;
    putString(name, walk);
    putByte(walk, 0x3a); // :
    const wasAscii = walk.ascii;
    walk.ascii = ascii && wasAscii;
    if (wasAscii && name.length <= CACHED_NAME) {
      if (MEMBER_NAMES.size >= MEMBER_CACHE) MEMBER_NAMES.clear();
      MEMBER_NAMES.set(name, Uint8Array.from(walk.out.subarray(at, walk.pos)));
    }
    return;
  }
  const n = bytes.length;
  const out = room(walk, n);
  const p = walk.pos;
  for (let i = 0; i < n; i++) out[p + i] = bytes[i]!;
  walk.pos = p + n;
}

/** JSON string literal; JSON.stringify matches RFC 8785 §3.2.2.2 for well-formed strings. */
function putString(s: string, walk: Walk): void {
  const n = s.length;
  if (n <= SHORT_STRING) {
    // Fast path: nothing to escape and no surrogates to check; UTF-8 encoded as it is scanned.
    const out = room(walk, 3 * n + 2);
    let p = walk.pos;
    out[p++] = 0x22;
    let ascii = true;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        if (c < 0x20 || c === 0x22 || c === 0x5c) break;
        out[p++] = c;
      } else if (c < 0x800) {
        out[p++] = 0xc0 | (c >> 6);
        out[p++] = 0x80 | (c & 0x3f);
        ascii = false;
      } else if (c >= 0xd800 && c <= 0xdfff) {
        break;
      } else {
        out[p++] = 0xe0 | (c >> 12);
        out[p++] = 0x80 | ((c >> 6) & 0x3f);
        out[p++] = 0x80 | (c & 0x3f);
        ascii = false;
      }
    }
    if (i === n) {
      out[p++] = 0x22;
      walk.pos = p;
      if (!ascii) walk.ascii = false;
      return;
    }
    // Something to escape or check: written again below, from the same position.
  }
  if (!isWellFormed(s)) loneSurrogate(walk);
  putText(walk, JSON.stringify(s));
}

function loneSurrogate(walk: Walk): never {
  return fail(walk, 'string contains a lone surrogate (not well-formed UTF-16)');
}

/** `String.prototype.isWellFormed` (Node 20+; the ES2023 lib typings lack it). */
export function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

// The names of the last object visited at each of the first depths, as listed and as sorted: objects
// of one kind list the same names (the same strings) in the same order, so each is sorted once.
// Neither array is ever changed after it is remembered (a parent keeps iterating its own).
const MEMO_DEPTHS = 8;
const memoListed: (readonly string[] | undefined)[] = new Array(MEMO_DEPTHS).fill(undefined);
const memoSorted: (readonly string[] | undefined)[] = new Array(MEMO_DEPTHS).fill(undefined);

/** `listed` (own names of an object at `depth`) in code-unit order. */
function sortedNames(listed: string[], depth: number): readonly string[] {
  if (depth >= MEMO_DEPTHS) {
    sortKeys(listed);
    return listed;
  }
  const prev = memoListed[depth];
  const n = listed.length;
  if (prev !== undefined && prev.length === n) {
    let i = 0;
    while (i < n && prev[i] === listed[i]) i++;
    if (i === n) return memoSorted[depth]!;
  }
  const sorted = listed.slice();
  sortKeys(sorted);
  memoListed[depth] = listed;
  memoSorted[depth] = sorted;
  return sorted;
}

/** Insertion sort for the common small object, native sort otherwise. Both compare UTF-16 code units. */
function sortKeys(keys: string[]): void {
  const n = keys.length;
  if (n > SHORT_KEYS) {
    keys.sort();
    return;
  }
  for (let i = 1; i < n; i++) {
    const k = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
}

/**
 * Rethrow a walk's error. One the walk raised is typed already; anything else came from the caller's
 * own objects (a Proxy trap, a brand check) and is bad input: a ValidationError at that path.
 */
function foreign(walk: Walk, err: unknown): never {
  if (err instanceof SignLedgerError) throw err;
  const path = pointer(walk.keys, walk.nkeys);
  const why = err instanceof Error ? err.message : String(err);
  throw new ValidationError(
    `${path === '' ? 'at the top level' : `at ${path}`}: reading the value threw: ${why}`,
    {
      code: 'NOT_JSON',
      path,
      cause: err,
    },
  );
}

function fail(walk: Walk, message: string, code: 'NOT_JSON' | 'TOO_LARGE' = 'NOT_JSON'): never {
  const path = pointer(walk.keys, walk.nkeys);
  throw new ValidationError(`${path === '' ? 'at the top level' : `at ${path}`}: ${message}`, { code, path });
}

/** RFC 6901 JSON Pointer of the first `n` keys. */
export function pointer(keys: readonly (string | number)[], n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    out += '/' + (typeof k === 'number' ? String(k) : k.replaceAll('~', '~0').replaceAll('/', '~1'));
  }
  return out;
}

function where(keys: readonly (string | number)[], n: number): string {
  return n === 0 ? 'the top level' : pointer(keys, n);
}

/** Name of a non-plain object for error messages; never lets user code throw. */
function describe(v: object): string {
  try {
    const tag = Object.prototype.toString.call(v).slice(8, -1);
    const ctor = (Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null)?.constructor;
    const name =
      typeof ctor === 'function' && typeof ctor.name === 'string' && ctor.name !== '' ? ctor.name : tag;
    // e.g. Object.create({}) or an object from another realm (vm context, iframe)
    if (name === 'Object' || name === 'Array') return `an object with a non-standard prototype (${name})`;
    return `an instance of ${name}`;
  } catch {
    return 'an object of unknown kind';
  }
}
