import { EncodingError } from '../errors.js';

const HEX_RE = /^(?:[0-9a-f]{2})*$/;

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Strict: lowercase, even length; anything else is an EncodingError (no silent truncation like Buffer.from). */
export function fromHex(hex: string): Buffer {
  if (typeof hex !== 'string' || !HEX_RE.test(hex))
    throw new EncodingError('not lowercase hex of whole bytes');
  return Buffer.from(hex, 'hex');
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Strict RFC 4648 §4 base64 with padding. Rejects whitespace, other alphabets, missing padding and
 * non-canonical encodings (non-zero pad bits), which Buffer.from accepts silently. The round trip
 * is the whole check: Buffer's encoder only writes canonical padded base64, so text that comes back
 * unchanged is exactly that (one regex less per signature checked).
 */
export function fromBase64(b64: string): Buffer {
  if (typeof b64 !== 'string') throw new EncodingError('not padded standard base64');
  const out = Buffer.from(b64, 'base64');
  if (out.toString('base64') !== b64) throw new EncodingError('not canonical padded standard base64');
  return out;
}

export function utf8(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
