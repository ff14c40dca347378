import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../src/encoding/bytes.js';
import { EncodingError } from '../../src/errors.js';

// The definition fromBase64 must implement (RFC 4648 §4, padded, canonical pad bits), written out
// independently of its round-trip check: the grammar, then zero pad bits in the last symbol.
const GRAMMAR = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
function isCanonicalBase64(s: string): boolean {
  if (!GRAMMAR.test(s)) return false;
  if (s.endsWith('==')) return (ALPHABET.indexOf(s[s.length - 3]!) & 0b1111) === 0;
  if (s.endsWith('=')) return (ALPHABET.indexOf(s[s.length - 2]!) & 0b11) === 0;
  return true;
}

function accepts(s: string): boolean {
  try {
    fromBase64(s);
    return true;
  } catch (err) {
    expect(err).toBeInstanceOf(EncodingError);
    return false;
  }
}

// Strings near valid base64: the alphabet plus the characters decoders commonly tolerate.
const nearBase64 = fc
  .array(fc.constantFrom(...`${ALPHABET}=-_ \n\t.`.split('')), { maxLength: 24 })
  .map((cs) => cs.join(''));

describe('fromBase64', () => {
  it('round-trips every byte string', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(Buffer.from(fromBase64(toBase64(bytes))).equals(Buffer.from(bytes))).toBe(true);
      }),
    );
  });

  it('accepts exactly the canonical padded standard encodings', () => {
    fc.assert(
      fc.property(nearBase64, (s) => {
        expect(accepts(s)).toBe(isCanonicalBase64(s));
      }),
      { numRuns: 5_000 },
    );
  });

  it('refuses what Buffer.from would silently accept', () => {
    for (const s of ['QQ', 'QQ=', 'QR==', 'QQ==\n', ' QQ==', 'Q-_A', 'QQ==QQ==', 'QUJD=', '====', 'QUJDRA']) {
      expect(accepts(s), s).toBe(false);
    }
    expect(accepts('')).toBe(true);
    expect(accepts('QUJD')).toBe(true);
    expect(() => fromBase64(42 as unknown as string)).toThrow(EncodingError);
  });
});
