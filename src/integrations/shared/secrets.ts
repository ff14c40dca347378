/**
 * What request auditing must never write into an append-only log: credentials and secrets.
 *
 * A name (header, body/query/result field, form parameter) is denied when
 * 1. lowercased with everything but letters and digits removed, it *contains* a deny fragment
 *    (`x-api-key`, `refresh_token`, `clientSecret`, `proxy-authorization`, `accessKeyId`), or
 * 2. one of its *tokens* is a short sensitive word. Names are split into tokens at camelCase
 *    boundaries, `_ - . :` and other punctuation, and between letters and digits:
 *    `customerSSN` → customer·ssn, `ssn_last4` → ssn·last·4, `connect.sid` → connect·sid. Whole tokens
 *    only, so `monkey`, `keyboard`, `pinned`, `className` and `author` are not hit; or
 * 3. it is a one-time / authorization *code*: the bare name `code` (OAuth's `?code=`), or `…_code` after
 *    an authentication word (`auth_code`, `verificationCode`, `otp-code`, `reset_code`). Other codes
 *    (`countryCode`, `currency_code`, `statusCode`, `orderCode`, `zip_code`) are recorded.
 *
 * Values are scrubbed too: `{ name: 'password', value: '…' }` pairs (also `key`/`field`/`header` as the
 * name and `[name, value]` tuples), and `name=value` pairs inside strings (form bodies, URLs in
 * `referer` / `origin` / `location`, error messages), JSON pairs with any value, `name: value`, `user:pass@`
 * in URLs, the whole credential of an `Authorization:` line and `Bearer …` / `Basic …`.
 */

/** Fragments of header, body, query and result field names that are always redacted. */
export const DEFAULT_DENY: readonly string[] = Object.freeze([
  'authorization',
  'cookie', // also set-cookie
  'password',
  'passwd',
  'passphrase',
  'passcode',
  'secret', // client_secret, x-secret, aws_secret_access_key, ...
  'token', // access_token, x-auth-token, csrf-token, ...
  'apikey', // api_key, x-api-key, apiKey
  'accesskey', // accessKeyId, aws_access_key_id
  'privatekey',
  'credential',
  'session', // session ids are bearer credentials
  'sessid', // PHPSESSID
  'signature', // request signatures (x-hub-signature, ...) are replayable
  'bearer',
  'csrf',
  'xsrf',
  'cardnumber',
  'creditcard', // credit_card, creditCard, creditCardNumber
]);

/**
 * Short sensitive words matched as whole tokens of a name (as substrings they would hit innocent words:
 * `classname` holds `ssn`, `monkey` holds `key`).
 */
export const DEFAULT_DENY_TOKENS: readonly string[] = Object.freeze([
  'cvv',
  'cvc',
  'ssn',
  'pin',
  'otp',
  'totp',
  'hotp',
  'pwd',
  'pw',
  'pass',
  'jwt',
  'auth',
  'key',
  'sid',
  'card', // card, card_number, card.cvv (card_type, card_id describe it: recorded)
  'pan', // primary account number
]);

/** `cc` is a card number only next to one of these (`cc_number`, `ccNum`); bare `cc` is an e-mail field. */
const CC_QUALIFIERS = new Set(['num', 'number', 'no', 'nr', 'pan', 'cvv', 'cvc', 'exp', 'expiry']);

/** Kept for compatibility: the short names once matched exactly; they are now part of the token list. */
export const DEFAULT_DENY_EXACT: readonly string[] = Object.freeze(['cvv', 'cvc', 'ssn', 'pin', 'otp']);

/**
 * A sensitive token followed by one of these describes the secret instead of holding it
 * (`keyId`, `key_name`, `auth_type`, `pin_length`): not redacted.
 */
const DESCRIBING = new Set([
  'id',
  'ids',
  'name',
  'names',
  'type',
  'types',
  'method',
  'methods',
  'provider',
  'scheme',
  'mode',
  'version',
  'alg',
  'algorithm',
  'size',
  'length',
  'bits',
  'count',
  'fingerprint',
]);

/** `…Key` names that are not secrets: public keys and database / cache / routing keys. */
const PUBLIC_KEY_QUALIFIERS = new Set([
  'public',
  'pub',
  'sort',
  'partition',
  'primary',
  'foreign',
  'cache',
  'idempotency',
  'routing',
  'shard',
  'lookup',
]);

/** Words that make a following `code` an authentication code. */
const CODE_QUALIFIERS = new Set([
  'auth',
  'oauth',
  'authorization',
  'authorisation',
  'verification',
  'verify',
  'confirmation',
  'confirm',
  'activation',
  'otp',
  'mfa',
  'fa', // 2fa_code
  'totp',
  'sms',
  'email',
  'login',
  'signin',
  'reset',
  'recovery',
  'backup',
  'security',
  'access',
  'device',
  'user', // OAuth device flow user_code
  'invite',
  'invitation',
  'magic',
  'one',
  'time', // one_time_code
  'secret',
]);

/** Headers whose value is a URL: their query strings and fragments are scrubbed. */
export const URL_HEADERS: readonly string[] = Object.freeze([
  'referer',
  'referrer',
  'origin',
  'location',
  'content-location',
  'x-original-url',
  'x-forwarded-uri',
  'x-rewrite-url',
]);

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
/** Longest name looked at (longer ones are checked on their first 256 characters). */
const MAX_NAME = 256;
/** Names remembered per policy (the same header and field names come back on every request). */
const CACHE_SIZE = 2_000;
/** Longest string scrubbed for `name=value` pairs; longer strings are scrubbed on a prefix and cut. */
const MAX_SCRUB = 64 * 1024;

const PAIR_NAME_FIELDS = ['name', 'key', 'field', 'header', 'param', 'parameter'] as const;
const PAIR_VALUE_FIELDS = ['value', 'values', 'val'] as const;

function normalize(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** `customerSSN` → customer, ssn; `X-API-Key` → x, api, key; `ssn_last4` → ssn, last, 4. */
export function nameTokens(name: string): string[] {
  const out: string[] = [];
  for (const part of name.slice(0, MAX_NAME).split(/[^A-Za-z0-9]+/)) {
    if (!part) continue;
    const words = part.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g);
    if (words) for (const w of words) out.push(w.toLowerCase());
  }
  return out;
}

/** A compiled deny-list: the defaults plus the caller's additions. */
export class SecretPolicy {
  private readonly fragments: string[];
  private readonly tokens: Set<string>;
  private readonly cache = new Map<string, boolean>();
  /** Bytes cut from long strings by the running `value()` call (see `capped`). */
  private cut = 0;

  constructor(extra: readonly string[] = []) {
    const all = new Set<string>(DEFAULT_DENY);
    for (const e of extra) {
      const n = normalize(String(e));
      if (n) all.add(n);
    }
    this.fragments = [...all];
    this.tokens = new Set(DEFAULT_DENY_TOKENS);
  }

  isDenied(name: string): boolean {
    const hit = this.cache.get(name);
    if (hit !== undefined) return hit;
    const denied = this.check(name);
    if (this.cache.size >= CACHE_SIZE) this.cache.clear();
    this.cache.set(name, denied);
    return denied;
  }

  private check(name: string): boolean {
    const n = normalize(name.slice(0, MAX_NAME));
    if (this.fragments.some((f) => n.includes(f))) return true;
    const t = nameTokens(name);
    for (let i = 0; i < t.length; i++) {
      const w = t[i]!;
      const next = t[i + 1];
      if (this.tokens.has(w)) {
        if (next !== undefined && DESCRIBING.has(next)) continue;
        if (w === 'key' && t.slice(0, i).some((p) => PUBLIC_KEY_QUALIFIERS.has(p))) continue;
        return true;
      }
      if (w === 'cc' && ((next !== undefined && CC_QUALIFIERS.has(next)) || (i > 0 && t[i - 1] === 'card'))) {
        return true;
      }
      if (w === 'code') {
        if (t.length === 1) return true;
        if (i > 0 && CODE_QUALIFIERS.has(t[i - 1]!)) return true;
      }
    }
    return false;
  }

  /**
   * Redact secrets inside free text: `name=value` pairs whose name is denied (form bodies, query
   * strings, `key=value` in messages), `"name": "value"` JSON pairs, `name: value` after a denied word,
   * the password of `scheme://user:password@host`, and `Bearer …` / `Basic …` credentials.
   */
  scrubText(text: string): string {
    // Every pattern starts at a word boundary (lookbehind) and bounds its name, so this is linear.
    let s = text.length > MAX_SCRUB ? `${text.slice(0, MAX_SCRUB)}…` : text;
    if (!/[=:]|bearer|basic/i.test(s)) return s;
    // scheme://user:password@host
    s = s.replace(
      /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,30}:\/\/[^\s/:@?#]*):([^\s/@?#]*)@/gi,
      `$1:${REDACTED}@`,
    );
    // `Authorization: <scheme> <credentials>`: everything after the scheme up to the end of the line
    // (Basic, Bearer, Token, Digest `username="u", response="…"`, AWS4-HMAC-SHA256 `…, Signature=…`).
    s = s.replace(
      /(?<![A-Za-z0-9_-])((?:proxy-)?authorization)([ \t]*:[ \t]*)(?:([A-Za-z][A-Za-z0-9_-]{0,40})([ \t]+)(?=\S))?(?!\[REDACTED\])[^\r\n]+/gi,
      (_m, name: string, sep: string, scheme: string | undefined, ws: string | undefined) =>
        `${name}${sep}${scheme ? `${scheme}${ws}` : ''}${REDACTED}`,
    );
    // Bearer credentials anywhere in the text (any token68 of 8+ characters).
    s = s.replace(/\b(bearer)([ \t]+)(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{8,}/gi, `$1$2${REDACTED}`);
    // Basic credentials: base64 of 8+ characters that looks like it (a digit, `+/=`, or an upper-case
    // letter after the first), so prose such as "Basic authentication failed" is kept.
    s = s.replace(
      /\b([Bb][Aa][Ss][Ii][Cc])([ \t]+)(?!\[REDACTED\])(?=[A-Za-z0-9+/]*(?:[0-9+/=]|[A-Za-z0-9+/][A-Z]))[A-Za-z0-9+/]{8,}={0,2}/g,
      `$1$2${REDACTED}`,
    );
    // "name": "value" (JSON inside a string)
    s = s.replace(/"([^"\\]{1,100})"(\s*:\s*)"((?:[^"\\]|\\.)*)"/g, (m, k: string, sep: string) =>
      this.isDenied(k) ? `"${k}"${sep}"${REDACTED}"` : m,
    );
    // "name": 1234 / ["…"] / {…} (JSON with a non-string value; null and booleans hold no secret)
    s = s.replace(
      /"([^"\\]{1,100})"(\s*:\s*)(-?[0-9][0-9.eE+-]*|\[[^[\]]*\]|\{[^{}]*\})/g,
      (m, k: string, sep: string) => (this.isDenied(k) ? `"${k}"${sep}"${REDACTED}"` : m),
    );
    // name=value (form bodies, query strings, log-style key=value, `password = x`, `password='x y'`)
    s = s.replace(
      /(?<![A-Za-z0-9_.%[\]-])([A-Za-z0-9_.%[\]-]{1,200})([ \t]*=[ \t]*)("[^"]*"|'[^']*'|[^&;\s,#"'<>]*)/g,
      (m, k: string, sep: string, v: string) =>
        v !== REDACTED && this.isDenied(safeDecode(k)) ? `${k}${sep}${REDACTED}` : m,
    );
    // name: value (error messages such as "invalid password: hunter2", `Password:x`, `{'pin': '1'}`).
    // A value that is not redacted is looked at again as a name ("failed: password: x").
    const re =
      /(?<![A-Za-z0-9_-])(['"]?)([A-Za-z0-9_-]{2,60})\1([ \t]*:[ \t]*)("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s,;]+)/g;
    let out = '';
    let last = 0;
    for (let m = re.exec(s); m !== null; m = re.exec(s)) {
      const [all, q = '', k = '', sep = '', v = ''] = m;
      const redact =
        v !== REDACTED &&
        v !== `"${REDACTED}"` &&
        !NOT_SECRET.has(v) &&
        this.isDenied(k) &&
        // `Authorization: Basic [REDACTED]`: the scheme before an already redacted credential stays.
        !/^[ \t]+\[REDACTED\]/.test(s.slice(m.index + all.length, m.index + all.length + 20));
      if (!redact) {
        re.lastIndex = m.index + 2 * q.length + k.length + sep.length;
        continue;
      }
      // `{'pin': 1234}`: the closing brackets belong to the text around the value.
      const tail = q && /^[^"']/.test(v) ? (/[}\])]+$/.exec(v)?.[0] ?? '') : '';
      out += `${s.slice(last, m.index)}${q}${k}${q}${sep}${REDACTED}${tail}`;
      last = m.index + all.length;
    }
    s = out + s.slice(last);
    return s;
  }

  /** Scrub a URL-valued header: secrets in its query string, fragment and user info. */
  scrubUrl(url: string): string {
    return this.scrubText(url);
  }

  /**
   * Pick headers: `true` = all, an array = only those (allow-list), `false` = none. Denied names are
   * always replaced by `[REDACTED]`, even when allow-listed: secrets never reach the log. Values of
   * URL headers (`referer`, `origin`, `location`, …) and every other recorded value are scrubbed of
   * `name=value` secrets.
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
    for (const name of names.sort()) {
      out[name] = this.isDenied(name) ? REDACTED : this.scrubText(all[name]!);
    }
    return out;
  }

  /**
   * Copy a parsed body (or query, or job result) into plain JSON: denied keys anywhere in the tree
   * are replaced, `pick` (an array) keeps only those top-level fields. Non-JSON values become strings;
   * strings are scrubbed of `name=value` secrets (a raw form body is a string).
   */
  value(input: unknown, pick: boolean | readonly string[] = true): unknown {
    this.cut = 0;
    if (pick === false) return undefined;
    if (Array.isArray(pick) && isPlainObject(input)) {
      const allowed: Record<string, unknown> = {};
      for (const k of pick) if (Object.hasOwn(input, k)) allowed[k] = input[k];
      return this.copy(allowed, 0);
    }
    return this.copy(input, 0);
  }

  /** Bytes (UTF-8) the last `value()` call cut from strings longer than 64 KiB. */
  get lastCutBytes(): number {
    return this.cut;
  }

  private copy(v: unknown, depth: number): unknown {
    if (v === null || typeof v === 'boolean') return v;
    if (typeof v === 'string') {
      // The JSON bytes of the part cut off, less the 3-byte `…` that replaces it.
      if (v.length > MAX_SCRUB) this.cut += Buffer.byteLength(JSON.stringify(v.slice(MAX_SCRUB)), 'utf8') - 5;
      return this.scrubText(v);
    }
    if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
    if (typeof v === 'bigint') return v.toString();
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return null;
    if (v instanceof Date) return Number.isFinite(v.getTime()) ? v.toISOString() : null;
    if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `[${v.byteLength} bytes]`;
    if (depth >= MAX_DEPTH) return '[TOO_DEEP]';
    if (Array.isArray(v)) {
      // [name, value] tuples (entries of headers or form fields).
      if (v.length === 2 && typeof v[0] === 'string' && this.isDenied(v[0])) return [v[0], REDACTED];
      return v.slice(0, MAX_KEYS).map((x) => this.copy(x, depth + 1));
    }
    if (v instanceof URLSearchParams) return this.copy(Object.fromEntries(v), depth);
    if (typeof v === 'object') {
      const obj = v as Record<string, unknown>;
      // { name: 'password', value: '…' } pairs: the value belongs to the named field.
      let pairName: string | undefined;
      for (const f of PAIR_NAME_FIELDS) {
        if (typeof obj[f] === 'string' && PAIR_VALUE_FIELDS.some((vf) => Object.hasOwn(obj, vf))) {
          pairName = obj[f] as string;
          break;
        }
      }
      const pairDenied = pairName !== undefined && this.isDenied(pairName);
      const out: Record<string, unknown> = {};
      let n = 0;
      for (const [k, x] of Object.entries(obj)) {
        if (n++ >= MAX_KEYS) break;
        if (x === undefined) continue;
        if (pairName !== undefined && (PAIR_NAME_FIELDS as readonly string[]).includes(k) && x === pairName) {
          // The field that names the pair (`key: 'color'`) is a name, not a secret.
          out[k] = x;
        } else if (pairDenied && (PAIR_VALUE_FIELDS as readonly string[]).includes(k)) {
          out[k] = REDACTED;
        } else {
          out[k] = this.isDenied(k) ? REDACTED : this.copy(x, depth + 1);
        }
      }
      return out;
    }
    return String(v);
  }
}

/** Values after a secret's name that hold no secret. */
const NOT_SECRET = new Set(['null', 'true', 'false', 'null}', 'true}', 'false}']);

/**
 * `value()` kept under `maxBytes` of JSON, or `{ omitted: 'too_large', bytes }` where `bytes` is the
 * size of the value before long strings were cut to 64 KiB for scrubbing.
 */
export function cappedValue(
  policy: SecretPolicy,
  input: unknown,
  pick: boolean | readonly string[] | undefined,
  maxBytes: number,
): unknown {
  const v = policy.value(input, pick);
  return capSize(v, maxBytes, policy.lastCutBytes);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Keep a recorded value under `maxBytes` of JSON, or replace it by a note saying it was omitted. */
export function capSize(value: unknown, maxBytes: number, cutBytes = 0): unknown {
  if (value === undefined) return undefined;
  // cutBytes: what was cut from long strings before (their `…` mark stands for it).
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8') + cutBytes;
  return bytes <= maxBytes ? value : { omitted: 'too_large', bytes };
}

/** Strip the query string (it may carry tokens) from a URL path. */
export function pathOnly(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
