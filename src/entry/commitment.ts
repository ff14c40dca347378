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
import { randomBytes } from 'node:crypto';
import { digest, type HashAlgorithm } from '../crypto/hash.js';
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
  return (
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
    '","v":1}'
  );
}

export function newSalt(): Buffer {
  return randomBytes(SALT_BYTES);
}

export function dataDigestOf(algorithm: HashAlgorithm, salt: Uint8Array, dataText: string): Buffer {
  return digest(algorithm, salt, Buffer.from(dataText, 'utf8'));
}

/** The Merkle leaf input. `signaturesText` is the canonical JSON array of signature records, or null for none. */
export function leafText(hashHex: string, signaturesText: string | null): string {
  return '{"hash":"' + hashHex + '","signatures":' + (signaturesText ?? '[]') + ',"v":1}';
}
