/**
 * Byte formats of C2SP tlog-cosignature v1 (Ed25519, key type 0x04), shared by the
 * verifier (keys.ts) and the witness side (cosignature.ts).
 *
 *   signed message = "cosignature/v1\n" || "time " || decimal(timestamp) || "\n" || note text
 *   signature      = u64be(timestamp) || Ed25519 signature (64 bytes)   -> 72 bytes
 */
import type { KeyObject } from 'node:crypto';
import { ED25519_SIGNATURE_LENGTH, ed25519Sign, ed25519Verify } from './ed25519.js';

export const COSIGNATURE_LENGTH = 8 + ED25519_SIGNATURE_LENGTH;
/** The spec caps the timestamp at 2^63 - 1. */
export const MAX_COSIGNATURE_TIME = (1n << 63n) - 1n;

const HEADER = 'cosignature/v1\ntime ';

export function cosignedMessage(body: Uint8Array, time: bigint): Buffer {
  // String(bigint) is plain decimal without leading zeros, as the spec requires.
  return Buffer.concat([Buffer.from(`${HEADER}${time}\n`, 'latin1'), body]);
}

/** The timestamp of a 72-byte timestamped signature, or undefined if the bytes cannot be one. */
export function cosignatureTime(signature: Uint8Array): bigint | undefined {
  if (signature.byteLength !== COSIGNATURE_LENGTH) return undefined;
  const t = Buffer.from(signature.buffer, signature.byteOffset, 8).readBigUInt64BE(0);
  return t > MAX_COSIGNATURE_TIME ? undefined : t;
}

export function signCosignature(privateKey: KeyObject, body: Uint8Array, time: bigint): Buffer {
  const out = Buffer.allocUnsafe(COSIGNATURE_LENGTH);
  out.writeBigUInt64BE(time, 0);
  ed25519Sign(privateKey, cosignedMessage(body, time)).copy(out, 8);
  return out;
}

export function verifyCosignature(publicKey: KeyObject, body: Uint8Array, signature: Uint8Array): boolean {
  const time = cosignatureTime(signature);
  if (time === undefined) return false;
  const sig = signature.subarray(8);
  return ed25519Verify(publicKey, cosignedMessage(body, time), sig);
}
