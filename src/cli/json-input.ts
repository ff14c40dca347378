/**
 * JSON objects from the command line (`append` stdin lines, `--metadata`): strict JSON (duplicate
 * names, lone surrogates and overflowing numbers are refused by parseJsonStrict), plus one rule of
 * the CLI's own: an integer literal outside the safe-integer range is refused instead of being
 * stored rounded to the nearest double. An audit log must store the value it was given.
 */
import { pointer } from '../encoding/canonical.js';
import { parseJsonStrict } from '../encoding/json.js';
import { CliError } from './errors.js';

/** Text without a leading UTF-8 byte order mark (U+FEFF), which is not part of the content. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** A JSON number token: sign, integer part, fraction, exponent. */
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

export interface UnsafeInteger {
  /** Offset of the literal in the text (UTF-16 code units, as parseJsonStrict reports offsets). */
  offset: number;
  literal: string;
  /** JSON pointer to the value. */
  path: string;
}

/**
 * The first integer literal (no fraction, no exponent) whose value is beyond ±(2^53 - 1), in `text`,
 * which must already be valid JSON (parseJsonStrict). Numbers written with a fraction or an exponent
 * are ordinary JSON doubles (rounded as JSON.parse rounds them) and are not reported.
 */
export function findUnsafeInteger(text: string): UnsafeInteger | null {
  const keys: (string | number)[] = [];
  const inObject: boolean[] = [];
  let expectName = false;
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string (valid JSON: it is terminated); a member name when one is expected.
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      if (expectName) {
        keys[keys.length - 1] = JSON.parse(text.slice(i, j + 1)) as string;
        expectName = false;
      }
      i = j + 1;
    } else if (c === 0x7b || c === 0x5b) {
      inObject.push(c === 0x7b);
      keys.push(c === 0x7b ? '' : 0);
      expectName = c === 0x7b;
      i++;
    } else if (c === 0x7d || c === 0x5d) {
      inObject.pop();
      keys.pop();
      i++;
    } else if (c === 0x2c) {
      if (inObject[inObject.length - 1]) expectName = true;
      else keys[keys.length - 1] = (keys[keys.length - 1] as number) + 1;
      i++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text)!;
      const literal = m[0];
      if (m[1] === undefined && m[2] === undefined) {
        const digits = literal.startsWith('-') ? literal.slice(1) : literal;
        if (digits.length >= 16 && BigInt(digits) > MAX_SAFE)
          return { offset: i, literal, path: pointer(keys, keys.length) };
      }
      i += literal.length;
    } else i++; // white space, ':', true, false, null
  }
  return null;
}

/**
 * Parse one JSON object given on the command line. `what` names where it came from (`stdin line 3`,
 * `--metadata`) and starts every error message.
 */
export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = parseJsonStrict(text);
  } catch (err) {
    throw new CliError(`${what}: ${(err as Error).message}`, 'NOT_JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new CliError(`${what}: expected a JSON object`, 'NOT_JSON');
  const unsafe = findUnsafeInteger(text);
  if (unsafe) {
    const at = `at offset ${unsafe.offset}${unsafe.path === '' ? '' : ` (${unsafe.path})`}`;
    throw new CliError(
      `${what}: integer ${unsafe.literal} ${at} is outside the safe integer range ±${Number.MAX_SAFE_INTEGER} ` +
        `and would be stored rounded (as ${Number(unsafe.literal)}): send it as a string ` +
        `(${JSON.stringify(unsafe.literal)}) to keep every digit`,
      'UNSAFE_INTEGER',
    );
  }
  return v as Record<string, unknown>;
}
