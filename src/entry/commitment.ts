/**
 * What an entry commits to, byte for byte (docs/FORMAT.md is the normative description).
 *
 *   body     = RFC 8785 text of {dataDigest, id, index, ledger, metadata, prev, timestamp, type, v: 1}
 *   hash     = HASH(body)                          HASH = the ledger's algorithm
 *   dataDigest = HASH(salt[32] || dataText)        so data can be erased and the chain still verifies
 *   leaf     = RFC 8785 text of {hash, signatures, v: 1}
 *   leafHash = SHA-256(0x00 || leaf)               the RFC 9162 Merkle leaf
 *
 * Every value but `metadata` is an ASCII string or a safe integer, so the canonical text is built by
 * concatenation in JCS member order (dataDigest < id < index < ledger < metadata < prev < timestamp <
 * type < v). `metadataText` must already be canonical.
 */
import { hash as oneShotHash, randomFillSync } from 'node:crypto';
import type { HashAlgorithm } from '../crypto/hash.js';
import type { EntryType } from './types.js';

export const FORMAT_VERSION = 1;
export const SALT_BYTES = 32;

export interface CommitmentFields {
  dataDigest: string;
  id: string;
  index: number;
  ledgerId: string;
  metadataText: string;
  prev: string | null;
  timestamp: string;
  type: EntryType;
}

export function commitmentText(f: CommitmentFields): string {
  return flatten(
    '{"dataDigest":"' +
      f.dataDigest +
      '","id":"' +
      f.id +
      '","index":' +
      f.index +
      ',"ledger":"' +
      f.ledgerId +
      '","metadata":' +
      f.metadataText +
      ',"prev":' +
      (f.prev === null ? 'null' : '"' + f.prev + '"') +
      ',"timestamp":"' +
      f.timestamp +
      '","type":"' +
      f.type +
      '","v":1}',
  );
}

/**
 * Concatenation builds a V8 rope (a 32-byte node per piece). Reading a character flattens it at
 * once, while it is young, so the GC drops the rope nodes instead of promoting them with the
 * text: a stored body then costs its length, not ~4x. Used for every text a backend may keep.
 */
export function flatten(s: string): string {
  s.charCodeAt(0);
  return s;
}

// Salts come from a pool filled by the CSPRNG 8 KiB at a time: one randomFillSync call per 256
// salts instead of one per entry (it was 20% of the append path). Every salt is a fresh copy, so
// no two entries (and no caller) ever share or see each other's bytes.
const SALT_POOL = 256 * SALT_BYTES;
let saltPool = Buffer.allocUnsafe(0);
let saltOffset = SALT_POOL;

export function newSalt(): Buffer {
  if (saltOffset >= saltPool.length) {
    saltPool = randomFillSync(Buffer.allocUnsafe(SALT_POOL));
    saltOffset = 0;
  }
  const salt = Buffer.allocUnsafe(SALT_BYTES);
  saltPool.copy(salt, 0, saltOffset, saltOffset + SALT_BYTES);
  saltOffset += SALT_BYTES;
  return salt;
}

// Scratch for salt || UTF-8(dataText): one-shot crypto.hash on a reused buffer avoids a Hash
// object and two Buffers per entry. Safe because hashing is synchronous.
let scratch = Buffer.allocUnsafe(64 * 1024);

export function dataDigestOf(algorithm: HashAlgorithm, salt: Uint8Array, dataText: string): Buffer {
  const max = SALT_BYTES + dataText.length * 3;
  if (salt.byteLength !== SALT_BYTES || max > scratch.length) {
    if (salt.byteLength === SALT_BYTES && max <= 4 * 1024 * 1024) {
      scratch = Buffer.allocUnsafe(Math.max(max, scratch.length * 2));
    } else {
      const joined = Buffer.concat([salt, Buffer.from(dataText, 'utf8')]);
      return oneShotHash(algorithm, joined, 'buffer') as unknown as Buffer;
    }
  }
  scratch.set(salt, 0);
  const n = scratch.write(dataText, SALT_BYTES, 'utf8');
  return oneShotHash(algorithm, scratch.subarray(0, SALT_BYTES + n), 'buffer') as unknown as Buffer;
}

/**
 * Hex-output variants: crypto.hash returning a hex string is about twice as fast as returning a
 * Buffer (no Buffer object to create), and the hex is what commitments and comparisons need.
 */
export function dataDigestHex(algorithm: HashAlgorithm, salt: Uint8Array, dataText: string): string {
  const max = SALT_BYTES + dataText.length * 3;
  if (salt.byteLength !== SALT_BYTES || max > scratch.length)
    return dataDigestOf(algorithm, salt, dataText).toString('hex');
  scratch.set(salt, 0);
  const n = scratch.write(dataText, SALT_BYTES, 'utf8');
  return oneShotHash(algorithm, scratch.subarray(0, SALT_BYTES + n), 'hex');
}

export function hashTextHex(algorithm: HashAlgorithm, text: string): string {
  return oneShotHash(algorithm, text, 'hex');
}

/** HASH(UTF-8(text)) in one call (the entry hash of a commitment body). */
export function hashText(algorithm: HashAlgorithm, text: string): Buffer {
  if (text.length * 3 > scratch.length)
    return oneShotHash(algorithm, Buffer.from(text, 'utf8'), 'buffer') as unknown as Buffer;
  const n = scratch.write(text, 0, 'utf8');
  return oneShotHash(algorithm, scratch.subarray(0, n), 'buffer') as unknown as Buffer;
}

/** SHA-256(0x00 || UTF-8(leafText)): the RFC 9162 leaf hash of an entry, without intermediate Buffers. */
export function leafHashOfText(text: string): Buffer {
  if (1 + text.length * 3 > scratch.length) {
    const b = Buffer.allocUnsafe(1 + Buffer.byteLength(text, 'utf8'));
    b[0] = 0;
    b.write(text, 1, 'utf8');
    return oneShotHash('sha256', b, 'buffer') as unknown as Buffer;
  }
  scratch[0] = 0;
  const n = scratch.write(text, 1, 'utf8');
  return oneShotHash('sha256', scratch.subarray(0, 1 + n), 'buffer') as unknown as Buffer;
}

/** SHA-256(0x00 || UTF-8(leafText)) as hex (verification workers keep leaves as hex). */
export function leafHashHexOfText(text: string): string {
  if (1 + text.length * 3 > scratch.length) return leafHashOfText(text).toString('hex');
  scratch[0] = 0;
  const n = scratch.write(text, 1, 'utf8');
  return oneShotHash('sha256', scratch.subarray(0, 1 + n), 'hex');
}

/** The Merkle leaf input. `signaturesText` is the canonical JSON array of signature records, or null for none. */
export function leafText(hashHex: string, signaturesText: string | null): string {
  return '{"hash":"' + hashHex + '","signatures":' + (signaturesText ?? '[]') + ',"v":1}';
}
