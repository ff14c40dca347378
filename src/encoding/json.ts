/**
 * Strict JSON parsing for text from outside (CLI stdin, bundles). JSON.parse silently keeps
 * the last of duplicate property names and accepts lone-surrogate escapes; both would let two
 * parties read different data from the same bytes, so this parser rejects them (RFC 8785 §3.1,
 * I-JSON). Otherwise it follows the RFC 8259 grammar exactly as JSON.parse does.
 */
import { ConfigurationError, ValidationError } from '../errors.js';
import { canonicalize, isWellFormed, type JsonValue, MAX_DEPTH_LIMIT, pointer } from './canonical.js';

export interface ParseOptions {
  /** Deepest allowed nesting of arrays/objects; deeper throws TOO_LARGE. Default and cap: 1000. */
  maxDepth?: number;
}

/**
 * Parse `text` like JSON.parse but reject duplicate property names (at any depth), lone
 * surrogates (escaped or raw) and numbers that overflow to ±Infinity, with a ValidationError
 * (code NOT_JSON, `path` to the offending member, `details.offset`).
 */
export function parseJsonStrict(text: string, options?: ParseOptions): JsonValue {
  if (typeof text !== 'string') {
    throw new ValidationError('JSON input must be a string', { code: 'NOT_JSON', path: '' });
  }
  const maxDepth = options?.maxDepth ?? MAX_DEPTH_LIMIT;
  if (!Number.isInteger(maxDepth) || maxDepth < 0 || maxDepth > MAX_DEPTH_LIMIT) {
    throw new ConfigurationError(`maxDepth must be an integer from 0 to ${MAX_DEPTH_LIMIT}`);
  }
  const p = new Parser(text, maxDepth);
  // Raw lone surrogates anywhere make the text itself unencodable as UTF-8: refuse up front,
  // so string() only has to re-check strings that contain \u escapes of surrogates.
  if (!isWellFormed(text)) p.fail('text contains a lone surrogate (not well-formed UTF-16)');
  p.space();
  const value = p.value();
  p.space();
  if (p.pos !== text.length) p.fail('unexpected text after the JSON value');
  return value;
}

/** True when `text` is valid strict JSON and exactly its own RFC 8785 canonical form. */
export function isCanonical(text: string): boolean {
  try {
    return canonicalize(parseJsonStrict(text), { maxDepth: MAX_DEPTH_LIMIT }) === text;
  } catch (e) {
    if (e instanceof ValidationError) return false;
    throw e;
  }
}

class Parser {
  pos = 0;
  private depth = 0;
  /** Path to the value being parsed (for errors). */
  private readonly keys: (string | number)[] = [];

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  fail(message: string, code: 'NOT_JSON' | 'TOO_LARGE' = 'NOT_JSON'): never {
    const path = pointer(this.keys, this.keys.length);
    const at = this.pos >= this.text.length ? 'at the end of the input' : `at offset ${this.pos}`;
    throw new ValidationError(`invalid JSON ${at}${path === '' ? '' : ` (${path})`}: ${message}`, {
      code,
      path,
      details: { offset: this.pos },
    });
  }

  space(): void {
    const t = this.text;
    let i = this.pos;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.pos = i;
  }

  value(): JsonValue {
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case 0x7b: // {
        return this.object();
      case 0x5b: // [
        return this.array();
      case 0x22: // "
        return this.string();
      case 0x74: // t
        return this.literal('true', true);
      case 0x66: // f
        return this.literal('false', false);
      case 0x6e: // n
        return this.literal('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
        return this.fail(Number.isNaN(c) ? 'unexpected end of input' : 'unexpected character');
    }
  }

  private enter(): void {
    if (this.depth >= this.maxDepth) this.fail(`nesting is deeper than ${this.maxDepth} levels`, 'TOO_LARGE');
    this.depth++;
    this.pos++;
    this.space();
  }

  private object(): JsonValue {
    this.enter();
    const t = this.text;
    const out: Record<string, JsonValue> = {};
    if (t.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      this.depth--;
      return out;
    }
    for (;;) {
      if (t.charCodeAt(this.pos) !== 0x22) this.fail('expected a property name in double quotes');
      const name = this.string();
      this.keys.push(name);
      if (Object.hasOwn(out, name)) this.fail(`duplicate property name ${JSON.stringify(name)}`);
      this.space();
      if (t.charCodeAt(this.pos) !== 0x3a) this.fail("expected ':' after the property name");
      this.pos++;
      this.space();
      const v = this.value();
      // Plain assignment of "__proto__" would set the prototype instead of a property.
      if (name === '__proto__') {
        Object.defineProperty(out, name, { value: v, enumerable: true, writable: true, configurable: true });
      } else {
        out[name] = v;
      }
      this.keys.pop();
      this.space();
      const c = t.charCodeAt(this.pos);
      this.pos++;
      if (c === 0x2c) {
        this.space();
        continue;
      }
      if (c === 0x7d) break;
      this.pos--;
      this.fail("expected ',' or '}'");
    }
    this.depth--;
    return out;
  }

  private array(): JsonValue {
    this.enter();
    const t = this.text;
    const out: JsonValue[] = [];
    if (t.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      this.depth--;
      return out;
    }
    for (let i = 0; ; i++) {
      this.keys.push(i);
      out.push(this.value());
      this.keys.pop();
      this.space();
      const c = t.charCodeAt(this.pos);
      this.pos++;
      if (c === 0x2c) {
        this.space();
        continue;
      }
      if (c === 0x5d) break;
      this.pos--;
      this.fail("expected ',' or ']'");
    }
    this.depth--;
    return out;
  }

  private literal<T extends JsonValue>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail('unexpected character');
    this.pos += word.length;
    return value;
  }

  private number(): number {
    const t = this.text;
    const start = this.pos;
    let i = start;
    if (t.charCodeAt(i) === 0x2d) i++;
    const first = t.charCodeAt(i);
    if (first === 0x30) i++;
    else if (first >= 0x31 && first <= 0x39) i = digits(t, i);
    else this.failAt(i, 'expected a digit');
    if (t.charCodeAt(i) === 0x2e) {
      const end = digits(t, i + 1);
      if (end === i + 1) this.failAt(end, "expected a digit after '.'");
      i = end;
    }
    const e = t.charCodeAt(i);
    if (e === 0x65 || e === 0x45) {
      i++;
      const sign = t.charCodeAt(i);
      if (sign === 0x2b || sign === 0x2d) i++;
      const end = digits(t, i);
      if (end === i) this.failAt(end, 'expected a digit in the exponent');
      i = end;
    }
    // Number() rounds decimal text to the nearest double exactly as JSON.parse does.
    const x = Number(t.slice(start, i));
    if (!Number.isFinite(x)) this.fail('number is too large for a double');
    this.pos = i;
    return x;
  }

  private string(): string {
    const t = this.text;
    const n = t.length;
    let i = this.pos + 1;
    let start = i;
    let out = '';
    let surrogateEscape = false;
    for (;;) {
      if (i >= n) this.failAt(i, 'unterminated string');
      const c = t.charCodeAt(i);
      if (c === 0x22) break;
      if (c === 0x5c) {
        out += t.slice(start, i);
        const e = t.charCodeAt(i + 1);
        i += 2;
        switch (e) {
          case 0x22:
            out += '"';
            break;
          case 0x5c:
            out += '\\';
            break;
          case 0x2f:
            out += '/';
            break;
          case 0x62:
            out += '\b';
            break;
          case 0x66:
            out += '\f';
            break;
          case 0x6e:
            out += '\n';
            break;
          case 0x72:
            out += '\r';
            break;
          case 0x74:
            out += '\t';
            break;
          case 0x75: {
            const code = hex4(t, i);
            if (code < 0) this.failAt(i, 'expected four hex digits after \\u');
            if (code >= 0xd800 && code <= 0xdfff) surrogateEscape = true;
            out += String.fromCharCode(code);
            i += 4;
            break;
          }
          default:
            this.failAt(i - 1, 'invalid escape sequence');
        }
        start = i;
        continue;
      }
      if (c < 0x20) this.failAt(i, 'control characters in strings must be escaped');
      i++;
    }
    out += t.slice(start, i);
    if (surrogateEscape && !isWellFormed(out)) {
      this.fail('string contains a lone surrogate escape (not well-formed UTF-16)');
    }
    this.pos = i + 1;
    return out;
  }

  private failAt(pos: number, message: string): never {
    this.pos = pos;
    return this.fail(message);
  }
}

function digits(t: string, i: number): number {
  let c = t.charCodeAt(i);
  while (c >= 0x30 && c <= 0x39) c = t.charCodeAt(++i);
  return i;
}

/** Value of four hex digits at `i`, or -1. */
function hex4(t: string, i: number): number {
  let v = 0;
  for (let k = 0; k < 4; k++) {
    const c = t.charCodeAt(i + k);
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}
