import type { HashAlgorithm } from '../crypto/hash.js';
import { type CanonicalOptions, type JsonObject, prepareJson } from '../encoding/canonical.js';
import { ValidationError } from '../errors.js';
import { dataDigestHex, flatten, newSalt } from './commitment.js';
import { entryId } from './entry-id.js';
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
  data: JsonObject;
  dataText: string;
  metadata: JsonObject;
  metadataText: string;
  salt: Buffer;
  dataDigest: string;
}

export interface PrepareOptions {
  hashAlgorithm: HashAlgorithm;
  maxEntryBytes: number;
  now?: () => number;
}

/** Absent metadata: one shared frozen `{}` (frozen, so sharing it between entries is safe). */
const NO_METADATA = { text: '{}', copy: Object.freeze({}) as JsonObject } as const;

function isPlainObject(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
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
  if (!isPlainObject(data)) {
    throw new ValidationError('entry data must be a plain JSON object', { path: '/data', code: 'NOT_JSON' });
  }
  if (Object.keys(data as object).length === 0) {
    throw new ValidationError('entry data must not be empty', { path: '/data' });
  }
  if (metadata !== undefined && !isPlainObject(metadata)) {
    throw new ValidationError('entry metadata must be a plain JSON object', {
      path: '/metadata',
      code: 'NOT_JSON',
    });
  }
  const d = prepareWithPath(data, '/data', options.maxEntryBytes);
  const m =
    metadata === undefined ? NO_METADATA : prepareWithPath(metadata, '/metadata', options.maxEntryBytes);
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
  const salt = newSalt();
  return {
    id: entryId(ms),
    timestampMs: ms,
    timestamp: isoTimestamp(ms),
    type,
    data: d.copy as JsonObject,
    dataText: flatten(d.text),
    metadata: m.copy as JsonObject,
    metadataText: flatten(m.text),
    salt,
    dataDigest: dataDigestHex(options.hashAlgorithm, salt, d.text),
  };
}

// The options of the last limit used: one object instead of one per event (always the same limit);
// frozen, so prepareJson checks it once and not on every call.
let lastOptions: CanonicalOptions = Object.freeze({ maxBytes: DEFAULT_MAX_ENTRY_BYTES, dates: 'iso' });

function prepareWithPath(value: unknown, prefix: string, maxBytes: number) {
  if (lastOptions.maxBytes !== maxBytes) lastOptions = Object.freeze({ maxBytes, dates: 'iso' });
  try {
    return prepareJson(value, lastOptions);
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
