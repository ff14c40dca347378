/**
 * C2SP signed-note keys (spec digest §2.2): key names, key IDs, verifier keys ("vkeys")
 * and Go-style private keys, all Ed25519 through node:crypto.
 *
 *   vkey = <name> "+" <8 lowercase hex keyID> "+" b64(type || pubkey32)
 *   skey = "PRIVATE+KEY+" <name> "+" <8 hex keyID> "+" b64(type || seed32)
 *   keyID = SHA-256(name || "\n" || type || pubkey32)[0:4], big-endian uint32
 *
 * Type 0x01 is a plain Ed25519 note signature; type 0x04 is a tlog-cosignature/v1
 * witness key (see cosignature.ts). Every problem with a key string is a `KeyError`.
 */
import { randomBytes } from 'node:crypto';
import { sha256 } from '../crypto/hash.js';
import { fromBase64, toBase64 } from '../encoding/bytes.js';
import { KeyError } from '../errors.js';
import { verifyCosignature } from './cosignature-format.js';
import {
  ED25519_KEY_LENGTH,
  ed25519PrivateKey,
  ed25519PublicKey,
  ed25519RawPublicKey,
  ed25519Sign,
  ed25519Verify,
} from './ed25519.js';
import { hasForbiddenChar } from './text.js';

export const KEY_TYPE_ED25519 = 0x01;
export const KEY_TYPE_COSIGNATURE_V1 = 0x04;

export type NoteKeyType = 'ed25519' | 'cosignature';

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  readonly type: NoteKeyType;
  /** The verifier key string this verifier was built from (or would encode to). */
  readonly vkey: string;
  /** `msg` is the note text (UTF-8 bytes); `sig` the signature bytes after the 4-byte key ID. */
  verify(msg: Uint8Array, sig: Uint8Array): boolean;
}

export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  readonly verifierKey: string;
  /** 64-byte Ed25519 signature over `msg` (the note text). */
  sign(msg: Uint8Array): Buffer;
}

export interface GeneratedNoteKey {
  /** Secret: Go `PRIVATE+KEY+...` encoding. */
  signerKey: string;
  verifierKey: string;
  signer: NoteSigner;
  verifier: NoteVerifier;
}

// Forbidden in key names: '+' and Unicode White_Space (TAB..CR are checked with the other
// controls by hasForbiddenChar). Controls are not White_Space, but a name holding one could
// never appear in a valid note, and lone surrogates are not UTF-8.
const BAD_NAME_CHAR = /[ +\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
const KEY_ID_HEX = /^[0-9a-f]{8}$/;
const SKEY_PREFIX = 'PRIVATE+KEY+';

/** Non-empty, no `+`, no Unicode White_Space, no control characters, well-formed Unicode. */
export function isValidKeyName(name: string): boolean {
  return (
    typeof name === 'string' && name.length > 0 && !BAD_NAME_CHAR.test(name) && !hasForbiddenChar(name, false)
  );
}

export function noteKeyId(name: string, typeByte: number, publicKey32: Uint8Array): number {
  return sha256(Buffer.from(`${name}\n`, 'utf8'), Uint8Array.of(typeByte), publicKey32).readUInt32BE(0);
}

export function formatKeyId(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

export function formatVerifierKey(name: string, typeByte: number, publicKey32: Uint8Array): string {
  if (!isValidKeyName(name)) throw new KeyError(`invalid key name ${JSON.stringify(name)}`);
  if (publicKey32.byteLength !== ED25519_KEY_LENGTH) throw new KeyError('an Ed25519 public key is 32 bytes');
  const keyId = noteKeyId(name, typeByte, publicKey32);
  return `${name}+${formatKeyId(keyId)}+${toBase64(Buffer.concat([Uint8Array.of(typeByte), publicKey32]))}`;
}

interface KeyParts {
  name: string;
  keyId: number;
  type: number;
  material: Buffer;
}

/**
 * Splits `<name>+<hex>+<b64>` at the first two '+' (the base64 may contain '+') and
 * checks everything that does not depend on the key type.
 */
function splitKey(s: string, what: string): { name: string; keyId: number; decoded: Buffer } {
  if (typeof s !== 'string') throw new KeyError(`${what} must be a string`);
  const p1 = s.indexOf('+');
  const p2 = p1 < 0 ? -1 : s.indexOf('+', p1 + 1);
  if (p2 < 0) throw new KeyError(`${what} must have the form <name>+<keyID>+<base64 key>`);
  const name = s.slice(0, p1);
  const hex = s.slice(p1 + 1, p2);
  const b64 = s.slice(p2 + 1);
  if (!isValidKeyName(name)) throw new KeyError(`${what} has an invalid key name`);
  if (!KEY_ID_HEX.test(hex)) throw new KeyError(`${what} key ID must be 8 lowercase hex digits`);
  let decoded: Buffer;
  try {
    decoded = fromBase64(b64);
  } catch (cause) {
    throw new KeyError(`${what} key material is not padded canonical base64`, { cause });
  }
  if (decoded.byteLength !== 1 + ED25519_KEY_LENGTH) {
    throw new KeyError(`${what} key material must be a type byte and 32 key bytes`);
  }
  return { name, keyId: Number.parseInt(hex, 16), decoded };
}

function checkType(type: number, allowed: readonly number[], what: string): void {
  if (!allowed.includes(type)) {
    throw new KeyError(`${what} has unsupported key type 0x${type.toString(16).padStart(2, '0')}`);
  }
}

function parseVerifierParts(vkey: string, allowed: readonly number[]): KeyParts {
  const { name, keyId, decoded } = splitKey(vkey, 'verifier key');
  const type = decoded[0]!;
  checkType(type, allowed, 'verifier key');
  const material = decoded.subarray(1);
  if (noteKeyId(name, type, material) !== keyId) {
    throw new KeyError('verifier key ID does not match its name and public key');
  }
  return { name, keyId, type, material };
}

/** Builds a verifier from already-checked parts; `vkey` is the canonical string. */
export function makeVerifier(name: string, typeByte: number, publicKey32: Uint8Array): NoteVerifier {
  const key = ed25519PublicKey(publicKey32);
  const vkey = formatVerifierKey(name, typeByte, publicKey32);
  const keyId = noteKeyId(name, typeByte, publicKey32);
  if (typeByte === KEY_TYPE_ED25519) {
    return Object.freeze({
      name,
      keyId,
      type: 'ed25519' as const,
      vkey,
      verify: (msg: Uint8Array, sig: Uint8Array) => ed25519Verify(key, msg, sig),
    });
  }
  if (typeByte === KEY_TYPE_COSIGNATURE_V1) {
    return Object.freeze({
      name,
      keyId,
      type: 'cosignature' as const,
      vkey,
      verify: (msg: Uint8Array, sig: Uint8Array) => verifyCosignature(key, msg, sig),
    });
  }
  throw new KeyError(`unsupported key type 0x${typeByte.toString(16)}`);
}

/**
 * Parses an Ed25519 (0x01) or tlog-cosignature/v1 (0x04) verifier key, strictly:
 * valid name, 8 lowercase hex digits, canonical padded base64 of exactly 33 bytes,
 * a known type byte, and a key ID that matches. Throws `KeyError` otherwise.
 */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const p = parseVerifierParts(vkey, [KEY_TYPE_ED25519, KEY_TYPE_COSIGNATURE_V1]);
  return makeVerifier(p.name, p.type, p.material);
}

/** Same as parseVerifierKey but only for the given key types (used by the witness API). */
export function parseVerifierKeyOfType(vkey: string, typeByte: number): NoteVerifier {
  const p = parseVerifierParts(vkey, [typeByte]);
  return makeVerifier(p.name, p.type, p.material);
}

/** Parses a Go-style private key and returns the seed, after checking the key ID against it. */
export function parseSignerKeyParts(
  skey: string,
  allowed: readonly number[],
): KeyParts & { publicKey: Buffer } {
  if (typeof skey !== 'string' || !skey.startsWith(SKEY_PREFIX)) {
    throw new KeyError('signer key must start with PRIVATE+KEY+');
  }
  const { name, keyId, decoded } = splitKey(skey.slice(SKEY_PREFIX.length), 'signer key');
  const type = decoded[0]!;
  checkType(type, allowed, 'signer key');
  const seed = decoded.subarray(1);
  const publicKey = ed25519RawPublicKey(ed25519PrivateKey(seed));
  if (noteKeyId(name, type, publicKey) !== keyId) {
    throw new KeyError('signer key ID does not match its name and key');
  }
  return { name, keyId, type, material: seed, publicKey };
}

function makeSigner(name: string, seed: Uint8Array): { signer: NoteSigner; publicKey: Buffer } {
  const priv = ed25519PrivateKey(seed);
  const publicKey = ed25519RawPublicKey(priv);
  const signer: NoteSigner = Object.freeze({
    name,
    keyId: noteKeyId(name, KEY_TYPE_ED25519, publicKey),
    verifierKey: formatVerifierKey(name, KEY_TYPE_ED25519, publicKey),
    sign: (msg: Uint8Array) => ed25519Sign(priv, msg),
  });
  return { signer, publicKey };
}

/** Parses `PRIVATE+KEY+<name>+<hex keyID>+b64(0x01 || seed32)` (Go's encoding). */
export function parseSignerKey(skey: string): NoteSigner {
  const p = parseSignerKeyParts(skey, [KEY_TYPE_ED25519]);
  return makeSigner(p.name, p.material).signer;
}

export function formatSignerKey(
  name: string,
  typeByte: number,
  seed: Uint8Array,
  publicKey: Uint8Array,
): string {
  const keyId = noteKeyId(name, typeByte, publicKey);
  return `${SKEY_PREFIX}${name}+${formatKeyId(keyId)}+${toBase64(Buffer.concat([Uint8Array.of(typeByte), seed]))}`;
}

/** A fresh random Ed25519 note key. */
export function generateNoteKey(name: string): GeneratedNoteKey {
  if (!isValidKeyName(name)) throw new KeyError(`invalid key name ${JSON.stringify(name)}`);
  const seed = randomBytes(ED25519_KEY_LENGTH);
  const { signer, publicKey } = makeSigner(name, seed);
  return {
    signerKey: formatSignerKey(name, KEY_TYPE_ED25519, seed, publicKey),
    verifierKey: signer.verifierKey,
    signer,
    verifier: makeVerifier(name, KEY_TYPE_ED25519, publicKey),
  };
}
