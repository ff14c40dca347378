/**
 * What request auditing must never write into an append-only log: credentials and secrets.
 * A name is denied when, lowercased with everything but letters and digits removed, it contains one
 * of the deny fragments. Substring matching is deliberate: `x-api-key`, `refresh_token`,
 * `clientSecret` and `proxy-authorization` are all caught without listing every spelling.
 */

/** Fragments of header, body, query and result field names that are always redacted. */
export const DEFAULT_DENY: readonly string[] = Object.freeze([
  'authorization',
  'cookie', // also set-cookie
  'password',
  'passwd',
  'passphrase',
  'secret', // client_secret, x-secret, ...
  'token', // access_token, x-auth-token, csrf-token, ...
  'apikey', // api_key, x-api-key, apiKey
  'privatekey',
  'credential',
  'session', // session ids are bearer credentials
  'signature', // request signatures (x-hub-signature, ...) are replayable
  'cardnumber',
]);

/** Short names matched exactly (as substrings they would hit innocent words: `classname` holds `ssn`). */
export const DEFAULT_DENY_EXACT: readonly string[] = Object.freeze(['cvv', 'cvc', 'ssn', 'pin', 'otp']);

/** Headers recorded when the `headers` option is left at its default. */
export const DEFAULT_RECORDED_HEADERS: readonly string[] = Object.freeze([
  'user-agent',
  'content-type',
  'content-length',
  'accept',
  'origin',
  'referer',
]);

export const REDACTED = '[REDACTED]';

/** Cap on the nesting depth and number of keys copied from a body, so one request cannot blow up an entry. */
const MAX_DEPTH = 8;
const MAX_KEYS = 200;

const EXACT = new Set(DEFAULT_DENY_EXACT);

function normalize(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** A compiled deny-list: the defaults plus the caller's additions. */
export class SecretPolicy {
  private readonly fragments: string[];

  constructor(extra: readonly string[] = []) {
    const all = new Set<string>(DEFAULT_DENY);
    for (const e of extra) {
      const n = normalize(String(e));
      if (n) all.add(n);
    }
    this.fragments = [...all];
  }

  isDenied(name: string): boolean {
    const n = normalize(name);
    return EXACT.has(n) || this.fragments.some((f) => n.includes(f));
  }

  /**
   * Pick headers: `true` = all, an array = only those (allow-list), `false` = none. Denied names are
   * always replaced by `[REDACTED]`, even when allow-listed: secrets never reach the log.
   */
  headers(
    input: Record<string, string | string[] | number | undefined> | Headers,
    pick: boolean | readonly string[],
  ): Record<string, string> | undefined {
    if (pick === false) return undefined;
    const all: Record<string, string> = {};
    if (typeof (input as Headers).forEach === 'function' && typeof (input as Headers).get === 'function') {
      (input as Headers).forEach((v, k) => {
        all[k.toLowerCase()] = v;
      });
    } else {
      for (const [k, v] of Object.entries(input)) {
        if (v === undefined) continue;
        all[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
      }
    }
    const names = pick === true ? Object.keys(all) : pick.map((n) => n.toLowerCase()).filter((n) => n in all);
    const out: Record<string, string> = {};
    for (const name of names.sort()) out[name] = this.isDenied(name) ? REDACTED : all[name]!;
    return out;
  }

  /**
   * Copy a parsed body (or query, or job result) into plain JSON: denied keys anywhere in the tree
   * are replaced, `pick` (an array) keeps only those top-level fields. Non-JSON values become strings.
   */
  value(input: unknown, pick: boolean | readonly string[] = true): unknown {
    if (pick === false) return undefined;
    if (Array.isArray(pick) && isPlainObject(input)) {
      const allowed: Record<string, unknown> = {};
      for (const k of pick) if (Object.hasOwn(input, k)) allowed[k] = input[k];
      return this.copy(allowed, 0);
    }
    return this.copy(input, 0);
  }

  private copy(v: unknown, depth: number): unknown {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
    if (typeof v === 'bigint') return v.toString();
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return null;
    if (v instanceof Date) return Number.isFinite(v.getTime()) ? v.toISOString() : null;
    if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `[${v.byteLength} bytes]`;
    if (depth >= MAX_DEPTH) return '[TOO_DEEP]';
    if (Array.isArray(v)) return v.slice(0, MAX_KEYS).map((x) => this.copy(x, depth + 1));
    if (typeof v === 'object') {
      const out: Record<string, unknown> = {};
      let n = 0;
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (n++ >= MAX_KEYS) break;
        if (x === undefined) continue;
        out[k] = this.isDenied(k) ? REDACTED : this.copy(x, depth + 1);
      }
      return out;
    }
    return String(v);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Keep a recorded value under `maxBytes` of JSON, or replace it by a note saying it was omitted. */
export function capSize(value: unknown, maxBytes: number): unknown {
  if (value === undefined) return undefined;
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
  return bytes <= maxBytes ? value : { omitted: 'too_large', bytes };
}

/** Strip the query string (it may carry tokens) from a URL path. */
export function pathOnly(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
