/**
 * The stored signature list of an entry. The leaf hashes this text byte for byte, and
 * verifyInclusion rebuilds it from parsed records: a list that is not exactly what the writer
 * stores (JCS of `{algorithm, keyId, value}` string records) would pass one check and fail the
 * other, so every verifier refuses it.
 */
import type { SignatureRecord } from '../crypto/signatures/types.js';

/** The records of a stored list, or why the text is not one (reported as `malformed_entry`). */
export function parseSignatureList(text: string): SignatureRecord[] | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'signatures are not JSON';
  }
  if (!Array.isArray(parsed) || parsed.length === 0) return 'signatures are not a non-empty array';
  // JCS of a record with exactly these three string members: JSON.stringify escapes strings as
  // RFC 8785 does, and the members are already in code-unit order.
  let canonical = '[';
  for (let i = 0; i < parsed.length; i++) {
    const r = parsed[i] as Record<string, unknown> | null;
    if (!isRecordShape(r)) return `signature record ${i} is not {algorithm, keyId, value}`;
    canonical += `${i === 0 ? '' : ','}{"algorithm":${JSON.stringify(r.algorithm)},"keyId":${JSON.stringify(r.keyId)},"value":${JSON.stringify(r.value)}}`;
  }
  if (`${canonical}]` !== text) return 'signatures are not in canonical form (RFC 8785)';
  return parsed as SignatureRecord[];
}

/** An object with exactly the string members keyId, algorithm and value. */
export function isRecordShape(r: unknown): r is SignatureRecord {
  if (r === null || typeof r !== 'object' || Array.isArray(r)) return false;
  const o = r as Record<string, unknown>;
  let members = 0;
  for (const _ in o) members++;
  return (
    members === 3 &&
    typeof o.keyId === 'string' &&
    typeof o.algorithm === 'string' &&
    typeof o.value === 'string'
  );
}
