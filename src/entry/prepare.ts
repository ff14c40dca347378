import type { HashAlgorithm } from '../crypto/hash.js';
import {
  type CanonicalOptions,
  canonicalize,
  type JsonObject,
  type JsonValue,
  prepareJson,
  prepareSalted,
  type SaltedJson,
} from '../encoding/canonical.js';
import { ValidationError } from '../errors.js';
import { flatten, newSalt } from './commitment.js';
import { entryId } from './entry-id.js';
import { deepFreeze } from './freeze.js';
import { isoTimestamp } from './timestamp.js';
import type { EntryType } from './types.js';

/** Default cap on the canonical size of one entry's data plus metadata. */
export const DEFAULT_MAX_ENTRY_BYTES = 1024 * 1024;

/** Everything about an entry that does not depend on its position: computed outside the sequencer's lock. */
export interface PreparedEntry {
  id: string;
  timestampMs: number;
  timestamp: string;
  type: EntryType;
  /** The frozen copy, or null when not made (`copy: false`): then `dataOf` parses it from the text. */
  data: JsonObject | null;
  dataText: string;
  metadata: JsonObject | null;
  metadataText: string;
  salt: Buffer;
  dataDigest: string;
}

export interface PrepareOptions {
  hashAlgorithm: HashAlgorithm;
  maxEntryBytes: number;
  now?: () => number;
  /**
   * false: validate and canonicalize only, without the deep copy (for entries whose Entry object
   * will probably never be built); the copy is then made from the text if it is needed.
   */
  copy?: boolean;
}

/** Absent metadata: one shared frozen `{}` (frozen, so sharing it between entries is safe). */
const NO_METADATA = { text: '{}', copy: Object.freeze({}) as JsonObject } as const;

function isPlainObject(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * `Object.keys(o).length !== 0` without the array: for-in lists an object's own enumerable string
 * keys before any inherited one, so its first key is own exactly when the object has one.
 */
function hasOwnEnumerable(o: object): boolean {
  for (const k in o) return Object.hasOwn(o, k);
  return false;
}

/** A Proxy trap that threw while the caller's value was inspected: bad input at `path`, typed. */
function trapFailure(path: string, cause: unknown): never {
  if (cause instanceof ValidationError) throw cause;
  throw new ValidationError(`reading the value failed: ${(cause as Error)?.message ?? String(cause)}`, {
    path,
    cause,
  });
}

/**
 * Validate, copy, freeze and canonicalize the caller's event. Throws ValidationError and has no
 * side effect on bad input. The returned copies share nothing with the caller's objects.
 */
export function prepareEntry(
  data: unknown,
  metadata: unknown,
  type: EntryType,
  options: PrepareOptions,
): PreparedEntry {
  try {
    if (!isPlainObject(data)) {
      throw new ValidationError('entry data must be a plain JSON object', {
        path: '/data',
        code: 'NOT_JSON',
      });
    }
    if (!hasOwnEnumerable(data as object)) {
      throw new ValidationError('entry data must not be empty', { path: '/data' });
    }
  } catch (err) {
    trapFailure('/data', err);
  }
  try {
    if (metadata !== undefined && !isPlainObject(metadata)) {
      throw new ValidationError('entry metadata must be a plain JSON object', {
        path: '/metadata',
        code: 'NOT_JSON',
      });
    }
  } catch (err) {
    trapFailure('/metadata', err);
  }
  const copy = options.copy !== false;
  // The data digest is hashed from the bytes the canonical walk wrote, after the salt.
  const salt = newSalt();
  const d = prepareWithPath(data, '/data', options.maxEntryBytes, copy, salt, options.hashAlgorithm);
  const m =
    metadata === undefined
      ? NO_METADATA
      : prepareWithPath(metadata, '/metadata', options.maxEntryBytes, copy, null, options.hashAlgorithm);
  // A UTF-16 unit is at most 3 UTF-8 bytes: count bytes only when the length alone cannot decide.
  const units = d.text.length + m.text.length;
  const size =
    units * 3 <= options.maxEntryBytes
      ? units
      : Buffer.byteLength(d.text, 'utf8') + Buffer.byteLength(m.text, 'utf8');
  if (size > options.maxEntryBytes) {
    throw new ValidationError(
      `entry is ${size} bytes of canonical JSON, over the limit of ${options.maxEntryBytes} (option maxEntryBytes)`,
      { code: 'TOO_LARGE', path: '' },
    );
  }
  const ms = options.now ? options.now() : Date.now();
  return {
    id: entryId(ms),
    timestampMs: ms,
    timestamp: isoTimestamp(ms),
    type,
    data: d.copy as JsonObject | null,
    dataText: flatten(d.text),
    metadata: m.copy as JsonObject | null,
    metadataText: flatten(m.text),
    salt,
    dataDigest: (d as SaltedJson).digest,
  };
}

// The options of the last limit used: one object instead of one per event (always the same limit);
// frozen, so prepareJson checks it once and not on every call.
let lastOptions: CanonicalOptions = Object.freeze({ maxBytes: DEFAULT_MAX_ENTRY_BYTES, dates: 'iso' });

function prepareWithPath(
  value: unknown,
  prefix: string,
  maxBytes: number,
  copy: boolean,
  salt: Buffer | null,
  algorithm: HashAlgorithm,
): { text: string; copy: JsonValue | null } {
  if (lastOptions.maxBytes !== maxBytes) lastOptions = Object.freeze({ maxBytes, dates: 'iso' });
  try {
    // With a salt: the same walk, also hashing salt || text (the data digest).
    if (salt !== null) return prepareSalted(value, lastOptions, copy, salt, algorithm);
    // canonicalize() is the same walk without the copy: the same checks and errors.
    return copy ? prepareJson(value, lastOptions) : { text: canonicalize(value, lastOptions), copy: null };
  } catch (err) {
    if (err instanceof ValidationError) {
      throw new ValidationError(`${prefix.slice(1)}: ${err.message}`, {
        path: prefix + (err.path ?? ''),
        code: err.code as 'VALIDATION_FAILED' | 'NOT_JSON' | 'TOO_LARGE',
        cause: err,
      });
    }
    throw err;
  }
}

/**
 * The entry's data as a deeply frozen object: the copy made when it was prepared, or one parsed
 * from its canonical text (the same value: JSON.parse of canonical JSON gives back exactly the
 * members, order and numbers the copy holds).
 */
export function dataOf(p: PreparedEntry): JsonObject {
  return p.data ?? deepFreeze(JSON.parse(p.dataText) as JsonObject);
}

/** The entry's metadata, like dataOf. */
export function metadataOf(p: PreparedEntry): JsonObject {
  return p.metadata ?? deepFreeze(JSON.parse(p.metadataText) as JsonObject);
}
