import { type JsonWebKey, KeyObject } from 'node:crypto';
import { KeyError, NotFoundError, ValidationError } from '../../errors.js';
import { describeKey, type KeyInfo, keyFromJwk, keyFromPem } from './keys.js';
import { isSigner } from './resolve.js';
import {
  isSignatureAlgorithm,
  type SignableMessage,
  type SignatureAlgorithm,
  type SignatureRecord,
  type Signer,
} from './types.js';
import { messageBytes, prepareVerify, runVerify, runVerifyAsync } from './verify.js';

/** A position in the log: an entry index, a time, or both. */
export interface KeyPoint {
  index?: number;
  time?: Date;
}

export interface KeyRingAddOptions {
  /** Inclusive: the key signs entries at or after this index/time (both must hold when both are given). */
  validFrom?: KeyPoint;
  /** Exclusive: the key signs entries before this index/time. */
  validUntil?: KeyPoint;
  /** From this index or time on (either triggers), the key's signatures are rejected. */
  revokedAt?: KeyPoint;
  label?: string;
  /**
   * Algorithms this key may sign with. Default: a Signer's own algorithm; for a bare key, all
   * its type allows (both RSA paddings for an RSA key).
   */
  algorithms?: readonly SignatureAlgorithm[];
}

export interface KeyRingEntry {
  readonly keyId: string;
  /** Full SHA-256 of the SPKI DER, lowercase hex. */
  readonly fingerprint: string;
  readonly publicKey: KeyObject;
  readonly algorithms: readonly SignatureAlgorithm[];
  readonly validFrom: Readonly<KeyPoint> | undefined;
  readonly validUntil: Readonly<KeyPoint> | undefined;
  readonly revokedAt: Readonly<KeyPoint> | undefined;
  readonly label: string | undefined;
}

/** Where the signed entry sits. A window bound whose dimension is missing here fails closed. */
export interface KeyCheckContext {
  index?: number;
  time?: Date;
}

export type KeyCheckFailureKind =
  | 'key_unknown'
  | 'key_outside_window'
  | 'key_revoked'
  | 'signature_invalid'
  | 'algorithm_mismatch';

export type KeyCheckResult =
  | { ok: true; keyId: string }
  | { ok: false; kind: KeyCheckFailureKind; message: string; keyId?: string };

/** Serialized form: public keys as SPKI PEM, times as ISO 8601. */
export interface KeyRingJSON {
  version: 1;
  keys: Array<{
    keyId: string;
    publicKey: string;
    algorithms: SignatureAlgorithm[];
    label?: string;
    validFrom?: { index?: number; time?: string };
    validUntil?: { index?: number; time?: string };
    revokedAt?: { index?: number; time?: string };
  }>;
}

interface Slot {
  entry: KeyRingEntry;
  info: KeyInfo;
}

type Pre =
  | { done: KeyCheckResult }
  | { done?: undefined; keyId: string; run: Parameters<typeof runVerify>[0] };

/**
 * The public keys a verifier trusts, each with an optional validity window and revocation.
 * A record's keyId only selects the candidate key: the record's algorithm must be one the key
 * may use and the signature must verify with that key, so a forged keyId gains nothing.
 */
export class KeyRing {
  readonly #slots = new Map<string, Slot>();

  constructor(keys: Iterable<Signer | KeyObject | string | JsonWebKey> = []) {
    // a lone PEM string is iterable too (by character): refuse it rather than add '-'
    if (typeof keys === 'string') throw new ValidationError('KeyRing takes an array of keys');
    for (const k of keys) this.add(k);
  }

  get size(): number {
    return this.#slots.size;
  }

  /** Adds a trusted key (a Signer, a KeyObject, PEM text or a JWK; only the public part is kept). */
  add(key: Signer | KeyObject | string | JsonWebKey, options: KeyRingAddOptions = {}): KeyRingEntry {
    let publicKey: KeyObject;
    let signerAlgorithm: SignatureAlgorithm | undefined;
    if (key instanceof KeyObject) {
      publicKey = key;
    } else if (typeof key === 'string') {
      publicKey = keyFromPem(key).publicKey;
    } else if (isSigner(key)) {
      publicKey = key.publicKey;
      signerAlgorithm = key.algorithm;
    } else if (key !== null && typeof key === 'object') {
      publicKey = keyFromJwk(key as JsonWebKey).publicKey;
    } else {
      throw new ValidationError('KeyRing.add takes a Signer, KeyObject, PEM string or JWK');
    }
    const info = describeKey(publicKey);
    if (signerAlgorithm !== undefined && !info.algorithms.includes(signerAlgorithm)) {
      throw new KeyError(`signer algorithm ${signerAlgorithm} does not fit its key`);
    }
    const algorithms = checkAlgorithms(
      options.algorithms ?? (signerAlgorithm ? [signerAlgorithm] : undefined),
      info,
    );
    const existing = this.#slots.get(info.keyId);
    if (existing !== undefined) {
      if (existing.info.fingerprint !== info.fingerprint) {
        throw new KeyError(`key id collision on ${info.keyId}: two different keys`);
      }
      throw new ValidationError(`key ${info.keyId} is already in the keyring`);
    }
    if (options.label !== undefined && typeof options.label !== 'string') {
      throw new ValidationError('label must be a string');
    }
    const entry: KeyRingEntry = Object.freeze({
      keyId: info.keyId,
      fingerprint: info.fingerprint,
      publicKey: info.publicKey,
      algorithms,
      validFrom: checkPoint(options.validFrom, 'validFrom'),
      validUntil: checkPoint(options.validUntil, 'validUntil'),
      revokedAt: checkPoint(options.revokedAt, 'revokedAt'),
      label: options.label,
    });
    this.#slots.set(info.keyId, { entry, info });
    return entry;
  }

  /**
   * Revokes a key from `at` on (an index, a time, or both: either triggers). Revoking again
   * can only move the revocation earlier.
   */
  revoke(keyId: string, at: KeyPoint): KeyRingEntry {
    const slot = this.#slots.get(keyId);
    if (slot === undefined) throw new NotFoundError(`key ${keyId} is not in the keyring`);
    const point = checkPoint(at, 'revokedAt');
    if (point === undefined) throw new ValidationError('revoke needs { index } or { time }');
    const prev = slot.entry.revokedAt;
    const merged: KeyPoint = {};
    const index = minDefined(prev?.index, point.index);
    const time = minDefined(prev?.time?.getTime(), point.time?.getTime());
    if (index !== undefined) merged.index = index;
    if (time !== undefined) merged.time = new Date(time);
    slot.entry = Object.freeze({ ...slot.entry, revokedAt: Object.freeze(merged) });
    return slot.entry;
  }

  get(keyId: string): KeyRingEntry | undefined {
    return this.#slots.get(keyId)?.entry;
  }

  has(keyId: string): boolean {
    return this.#slots.has(keyId);
  }

  keys(): KeyRingEntry[] {
    return Array.from(this.#slots.values(), (s) => s.entry);
  }

  /** Checks one signature record over `message` for the entry at `context`. */
  check(record: SignatureRecord, message: SignableMessage, context: KeyCheckContext): KeyCheckResult {
    const pre = this.#precheck(record, message, context);
    if (pre.done !== undefined) return pre.done;
    return runVerify(pre.run) ? { ok: true, keyId: pre.keyId } : invalid(pre.keyId);
  }

  /** `check` with the signature verified on the libuv threadpool. */
  async checkAsync(
    record: SignatureRecord,
    message: SignableMessage,
    context: KeyCheckContext,
  ): Promise<KeyCheckResult> {
    const pre = this.#precheck(record, message, context);
    if (pre.done !== undefined) return pre.done;
    return (await runVerifyAsync(pre.run)) ? { ok: true, keyId: pre.keyId } : invalid(pre.keyId);
  }

  #precheck(record: SignatureRecord, message: SignableMessage, context: KeyCheckContext): Pre {
    const data = messageBytes(message); // misuse throws before any verdict
    const ctx = checkContext(context);
    if (record === null || typeof record !== 'object') {
      return { done: { ok: false, kind: 'signature_invalid', message: 'malformed signature record' } };
    }
    const { keyId, algorithm, value } = record as Partial<Record<keyof SignatureRecord, unknown>>;
    const slot = typeof keyId === 'string' ? this.#slots.get(keyId) : undefined;
    if (slot === undefined) {
      return { done: { ok: false, kind: 'key_unknown', message: `no trusted key with id ${show(keyId)}` } };
    }
    const { entry } = slot;
    if (!isSignatureAlgorithm(algorithm) || !entry.algorithms.includes(algorithm)) {
      return {
        done: {
          ok: false,
          kind: 'algorithm_mismatch',
          keyId: entry.keyId,
          message: `key ${entry.keyId} does not sign ${show(algorithm)} (allowed: ${entry.algorithms.join(', ')})`,
        },
      };
    }
    if (entry.revokedAt !== undefined && !before(ctx, entry.revokedAt)) {
      return {
        done: {
          ok: false,
          kind: 'key_revoked',
          keyId: entry.keyId,
          message: `key ${entry.keyId} is revoked here`,
        },
      };
    }
    if (
      (entry.validFrom !== undefined && !atOrAfter(ctx, entry.validFrom)) ||
      (entry.validUntil !== undefined && !before(ctx, entry.validUntil))
    ) {
      return {
        done: {
          ok: false,
          kind: 'key_outside_window',
          keyId: entry.keyId,
          message: `key ${entry.keyId} is not valid${describeContext(ctx)}`,
        },
      };
    }
    return {
      keyId: entry.keyId,
      run: prepareVerify(
        slot.info,
        algorithm,
        entry.keyId,
        data,
        typeof value === 'string' ? value : undefined,
      ),
    };
  }

  toJSON(): KeyRingJSON {
    return {
      version: 1,
      keys: this.keys().map((e) => {
        const out: KeyRingJSON['keys'][number] = {
          keyId: e.keyId,
          publicKey: e.publicKey.export({ type: 'spki', format: 'pem' }) as string,
          algorithms: [...e.algorithms],
        };
        if (e.label !== undefined) out.label = e.label;
        if (e.validFrom !== undefined) out.validFrom = pointToJSON(e.validFrom);
        if (e.validUntil !== undefined) out.validUntil = pointToJSON(e.validUntil);
        if (e.revokedAt !== undefined) out.revokedAt = pointToJSON(e.revokedAt);
        return out;
      }),
    };
  }

  /** Rebuilds a keyring from `toJSON()` output (object or JSON text); every key id is recomputed and checked. */
  static fromJSON(json: KeyRingJSON | string): KeyRing {
    let data: unknown = json;
    if (typeof json === 'string') {
      try {
        data = JSON.parse(json);
      } catch (cause) {
        throw new ValidationError('keyring JSON does not parse', { cause, code: 'NOT_JSON' });
      }
    }
    const d = data as Partial<KeyRingJSON> | null;
    if (d === null || typeof d !== 'object' || d.version !== 1 || !Array.isArray(d.keys)) {
      throw new ValidationError('not a version 1 keyring');
    }
    const ring = new KeyRing();
    d.keys.forEach((k, i) => {
      if (k === null || typeof k !== 'object' || typeof k.publicKey !== 'string') {
        throw new ValidationError('keyring entry needs a publicKey PEM', { path: `/keys/${i}` });
      }
      // A key-ring file goes to auditors: a private key in it is a leak to stop, not to strip quietly.
      if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(k.publicKey)) {
        throw new KeyError(`keyring entry ${i} holds a private key: a keyring holds public keys only`);
      }
      const { publicKey } = keyFromPem(k.publicKey);
      const entry = ring.add(publicKey, {
        algorithms: k.algorithms,
        label: k.label,
        validFrom: pointFromJSON(k.validFrom, `/keys/${i}/validFrom`),
        validUntil: pointFromJSON(k.validUntil, `/keys/${i}/validUntil`),
        revokedAt: pointFromJSON(k.revokedAt, `/keys/${i}/revokedAt`),
      });
      if (k.keyId !== entry.keyId) {
        throw new KeyError(
          `keyring entry ${i}: keyId ${show(k.keyId)} does not match its public key (${entry.keyId})`,
        );
      }
    });
    return ring;
  }
}

function invalid(keyId: string): KeyCheckResult {
  return {
    ok: false,
    kind: 'signature_invalid',
    keyId,
    message: `signature does not verify with key ${keyId}`,
  };
}

function checkAlgorithms(list: readonly unknown[] | undefined, info: KeyInfo): readonly SignatureAlgorithm[] {
  if (list === undefined) return info.algorithms;
  if (!Array.isArray(list) || list.length === 0)
    throw new ValidationError('algorithms must be a non-empty array');
  const out: SignatureAlgorithm[] = [];
  for (const a of list) {
    if (!isSignatureAlgorithm(a)) throw new ValidationError(`unknown signature algorithm ${show(a)}`);
    if (!info.algorithms.includes(a)) throw new KeyError(`a ${info.kind} key cannot sign ${a}`);
    if (!out.includes(a)) out.push(a);
  }
  return Object.freeze(out);
}

function isIndex(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function isTime(x: unknown): x is Date {
  return x instanceof Date && !Number.isNaN(x.getTime());
}

function checkPoint(p: KeyPoint | undefined, name: string): Readonly<KeyPoint> | undefined {
  if (p === undefined) return undefined;
  if (p === null || typeof p !== 'object') throw new ValidationError(`${name} must be { index?, time? }`);
  if (p.index === undefined && p.time === undefined)
    throw new ValidationError(`${name} needs an index or a time`);
  const out: KeyPoint = {};
  if (p.index !== undefined) {
    if (!isIndex(p.index)) throw new ValidationError(`${name}.index must be a non-negative safe integer`);
    out.index = p.index;
  }
  if (p.time !== undefined) {
    if (!isTime(p.time)) throw new ValidationError(`${name}.time must be a valid Date`);
    out.time = new Date(p.time.getTime()); // our own copy: Dates are mutable
  }
  return Object.freeze(out);
}

interface Ctx {
  index: number | undefined;
  time: number | undefined;
}

function checkContext(c: KeyCheckContext): Ctx {
  if (c === null || typeof c !== 'object') throw new ValidationError('context must be { index?, time? }');
  if (c.index !== undefined && !isIndex(c.index))
    throw new ValidationError('context.index must be a non-negative safe integer');
  if (c.time !== undefined && !isTime(c.time)) throw new ValidationError('context.time must be a valid Date');
  return { index: c.index, time: c.time?.getTime() };
}

/** ctx >= p in every dimension p names; an unknown ctx dimension fails. */
function atOrAfter(ctx: Ctx, p: Readonly<KeyPoint>): boolean {
  if (p.index !== undefined && (ctx.index === undefined || ctx.index < p.index)) return false;
  if (p.time !== undefined && (ctx.time === undefined || ctx.time < p.time.getTime())) return false;
  return true;
}

/** ctx < p in every dimension p names; an unknown ctx dimension fails. */
function before(ctx: Ctx, p: Readonly<KeyPoint>): boolean {
  if (p.index !== undefined && (ctx.index === undefined || ctx.index >= p.index)) return false;
  if (p.time !== undefined && (ctx.time === undefined || ctx.time >= p.time.getTime())) return false;
  return true;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

function describeContext(ctx: Ctx): string {
  const parts: string[] = [];
  if (ctx.index !== undefined) parts.push(`index ${ctx.index}`);
  if (ctx.time !== undefined) parts.push(`time ${new Date(ctx.time).toISOString()}`);
  return parts.length === 0 ? ' (no index or time given)' : ` at ${parts.join(', ')}`;
}

function pointToJSON(p: Readonly<KeyPoint>): { index?: number; time?: string } {
  const out: { index?: number; time?: string } = {};
  if (p.index !== undefined) out.index = p.index;
  if (p.time !== undefined) out.time = p.time.toISOString();
  return out;
}

function pointFromJSON(p: { index?: number; time?: string } | undefined, path: string): KeyPoint | undefined {
  if (p === undefined) return undefined;
  if (p === null || typeof p !== 'object') throw new ValidationError('expected { index?, time? }', { path });
  const out: KeyPoint = {};
  if (p.index !== undefined) out.index = p.index;
  if (p.time !== undefined) {
    const t = typeof p.time === 'string' ? parseTimeText(p.time) : undefined;
    if (t === undefined) {
      throw new ValidationError('time must be RFC 3339 text, e.g. 2026-01-31T12:00:00Z', { path });
    }
    out.time = t;
  }
  return out;
}

// RFC 3339 date-time (seconds required, at most millisecond precision, Z or an offset), plus the
// expanded years toISOString() writes outside 0000-9999.
const TIME_TEXT =
  /^([+-]\d{6}|\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * A window bound moves which signatures pass: Date's own parser accepts "March 7" and rolls
 * 2026-02-30 into March, so the text is checked field by field instead.
 */
function parseTimeText(text: string): Date | undefined {
  const m = TIME_TEXT.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (m[1] === '-000000') return undefined; // ECMAScript's one forbidden spelling of year 0
  const ms = Number((m[7] ?? '').padEnd(3, '0'));
  const offH = m[9] === undefined ? 0 : Number(m[9]);
  const offM = m[10] === undefined ? 0 : Number(m[10]);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  if (offH > 23 || offM > 59) return undefined;
  const base = new Date(0);
  base.setUTCFullYear(year, month - 1, day); // full years: Date.UTC maps 0-99 to 1900-1999
  if (base.getUTCDate() !== day) return undefined; // day past the month's end
  const offset = (m[8] === '-' ? -1 : 1) * (offH * 60 + offM);
  const t = base.getTime() + ((hour * 60 + minute - offset) * 60 + second) * 1000 + ms;
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function show(x: unknown): string {
  const s = typeof x === 'string' ? x : String(x);
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}
