/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) for values that come from user code.
 *
 * One recursive walk validates the value, writes the canonical text and (for prepareJson)
 * builds a deeply frozen copy. Every property is read exactly once, so the text and the copy
 * always describe the same data even if the input is mutated concurrently or by a Proxy.
 */
import { ConfigurationError, ValidationError } from '../errors.js';

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

interface Walk {
  readonly isoDates: boolean;
  readonly maxDepth: number;
  /** false for canonicalize(): skip building the copy. */
  readonly copy: boolean;
  text: string;
  /** Path from the root to the value being visited (for error messages only). */
  readonly keys: (string | number)[];
  /** Containers currently open, root first: cycle detection, and its length is the depth. */
  readonly open: object[];
}

/** RFC 8785 canonical text of `value`. */
export function canonicalize(value: unknown, options?: CanonicalOptions): string {
  const walk = begin(options, false);
  visit(value, walk);
  checkSize(walk.text, options);
  return walk.text;
}

/** RFC 8785 canonical UTF-8 bytes of `value`. */
export function canonicalizeBytes(value: unknown, options?: CanonicalOptions): Buffer {
  const walk = begin(options, false);
  visit(value, walk);
  const bytes = Buffer.from(walk.text, 'utf8');
  if (options?.maxBytes !== undefined && bytes.length > options.maxBytes)
    tooLarge(bytes.length, options.maxBytes);
  return bytes;
}

/**
 * Validate, canonicalize and deep-copy `value` in one walk. The copy is frozen at every level,
 * holds Dates as ISO strings and -0 as 0, and has its members in canonical order.
 */
export function prepareJson(value: unknown, options?: CanonicalOptions): PreparedJson {
  const walk = begin(options, true);
  const copy = visit(value, walk);
  checkSize(walk.text, options);
  return { text: walk.text, copy };
}

function begin(options: CanonicalOptions | undefined, copy: boolean): Walk {
  let isoDates = true;
  let maxDepth = DEFAULT_MAX_DEPTH;
  if (options !== undefined) {
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
  }
  return { isoDates, maxDepth, copy, text: '', keys: [], open: [] };
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
      walk.text += quote(v, walk);
      return v;
    case 'number':
      if (!Number.isFinite(v)) fail(walk, `${v} is not a finite number`);
      walk.text += String(v); // ECMAScript Number::toString, which RFC 8785 adopts; -0 gives "0"
      return v === 0 ? 0 : v;
    case 'boolean':
      walk.text += v ? 'true' : 'false';
      return v;
    case 'object':
      if (v === null) {
        walk.text += 'null';
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
  if (open.length >= walk.maxDepth) {
    fail(walk, `nesting is deeper than ${walk.maxDepth} levels`, 'TOO_LARGE');
  }
  const at = open.indexOf(v);
  if (at !== -1) {
    const path = pointer(walk.keys, walk.keys.length);
    throw new ValidationError(`cycle at ${path}: the value refers back to ${where(walk.keys, at)}`, {
      code: 'NOT_JSON',
      path,
    });
  }
  open.push(v);
}

function visitArray(arr: readonly unknown[], walk: Walk): JsonValue {
  enter(arr, walk);
  const n = arr.length;
  const out: JsonValue[] | undefined = walk.copy ? [] : undefined;
  const keys = walk.keys;
  walk.text += '[';
  for (let i = 0; i < n; i++) {
    if (i !== 0) walk.text += ',';
    keys.push(i);
    const item = arr[i];
    // Holes read as undefined: tell them apart only on the error path.
    if (item === undefined && !(i in arr)) fail(walk, 'arrays must not have holes (sparse array)');
    const c = visit(item, walk);
    if (out !== undefined) out.push(c);
    keys.pop();
  }
  walk.text += ']';
  walk.open.pop();
  return out === undefined ? null : Object.freeze(out);
}

function visitPlain(obj: Record<string, unknown>, walk: Walk): JsonValue {
  enter(obj, walk);
  // getOwnPropertyNames also lists non-enumerable names, which JSON.stringify would drop silently.
  const names = Object.getOwnPropertyNames(obj);
  if (Object.getOwnPropertySymbols(obj).length !== 0)
    fail(walk, 'objects must not have symbol-keyed properties');
  sortKeys(names);
  const out: Record<string, JsonValue> | undefined = walk.copy ? {} : undefined;
  const keys = walk.keys;
  if (names.length === 0) walk.text += '{';
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    keys.push(name);
    const d = Object.getOwnPropertyDescriptor(obj, name);
    // A Proxy may report a name and then no descriptor; a data descriptor always has `writable`.
    if (d === undefined || d.writable === undefined)
      fail(walk, 'accessor (getter/setter) properties are not allowed');
    if (!d.enumerable) fail(walk, 'non-enumerable properties are not allowed');
    walk.text += memberPrefix(name, i === 0, walk);
    const c = visit(d.value, walk);
    if (out !== undefined) {
      // Plain assignment of "__proto__" would set the prototype instead of a property.
      if (name === '__proto__') {
        Object.defineProperty(out, name, { value: c, enumerable: true, writable: true, configurable: true });
      } else {
        out[name] = c;
      }
    }
    keys.pop();
  }
  walk.text += '}';
  walk.open.pop();
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
  walk.text += '"' + iso + '"';
  return iso;
}

// Member prefixes by name: `{"name":` for the first member, `,"name":` for the others. Objects of
// one application repeat their names, and one cached piece replaces four concatenations (the text
// was a third of prepareJson, measured). Bounded: names up to 64 characters, cleared when full.
const FIRST_MEMBER = new Map<string, string>();
const NEXT_MEMBER = new Map<string, string>();
const MEMBER_CACHE = 4096;
const CACHED_NAME = 64;

function memberPrefix(name: string, first: boolean, walk: Walk): string {
  if (name.length > CACHED_NAME) return (first ? '{' : ',') + quote(name, walk) + ':';
  const cache = first ? FIRST_MEMBER : NEXT_MEMBER;
  let piece = cache.get(name);
  if (piece === undefined) {
    // quote() validates the name; only names it accepted are cached.
    piece = (first ? '{' : ',') + quote(name, walk) + ':';
    piece.charCodeAt(0); // flat, so every later use copies it without walking a rope
    if (cache.size >= MEMBER_CACHE) cache.clear();
    cache.set(name, piece);
  }
  return piece;
}

/** JSON string literal; JSON.stringify matches RFC 8785 §3.2.2.2 for well-formed strings. */
function quote(s: string, walk: Walk): string {
  const n = s.length;
  if (n <= SHORT_STRING) {
    // Fast path: nothing to escape and no surrogates to check.
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) break;
    }
    if (i === n) return '"' + s + '"';
  }
  if (!isWellFormed(s)) loneSurrogate(walk);
  return JSON.stringify(s);
}

function loneSurrogate(walk: Walk): never {
  return fail(walk, 'string contains a lone surrogate (not well-formed UTF-16)');
}

/** `String.prototype.isWellFormed` (Node 20+; the ES2023 lib typings lack it). */
export function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
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

function fail(walk: Walk, message: string, code: 'NOT_JSON' | 'TOO_LARGE' = 'NOT_JSON'): never {
  const path = pointer(walk.keys, walk.keys.length);
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
