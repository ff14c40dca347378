/** How entries and reports look on a terminal and in --json. */

/** C0 controls but tab and newline, DEL, C1 controls: what a terminal may act on (ESC, CSI, CR). */
function isControl(c: number): boolean {
  return (c < 0x20 && c !== 0x09 && c !== 0x0a) || (c >= 0x7f && c <= 0x9f);
}

/**
 * `text` with every control character a terminal would act on written as `\uXXXX`. Everything the
 * CLI prints passes through this: entries, bundle manifests and proofs are untrusted input, and an
 * escape sequence in them must not reach the auditor's terminal (clear the screen, set the title,
 * or overwrite "FAILED" with a carriage return). Applied to JSON text it keeps the same JSON value:
 * raw DEL and C1 characters can only stand inside strings, where `\uXXXX` means the same.
 */
export function escapeControls(text: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isControl(c)) {
      out += `${text.slice(from, i)}\\u${c.toString(16).padStart(4, '0')}`;
      from = i + 1;
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

import type { Entry } from '../entry/types.js';
import type { VerificationReport } from '../verify/report.js';

export function entryJson(e: Entry): Record<string, unknown> {
  return {
    index: e.index,
    id: e.id,
    timestamp: e.timestamp.toISOString(),
    type: e.type,
    data: e.data,
    metadata: e.metadata,
    hash: e.hash,
    previousHash: e.previousHash,
    dataDigest: e.dataDigest,
    signatures: e.signatures,
    redacted: e.redacted,
  };
}

/** One line per entry: index, time, id, data (and metadata when present). */
export function entryLine(e: Entry): string {
  const data = e.redacted ? '[redacted]' : JSON.stringify(e.data);
  const meta = Object.keys(e.metadata).length ? `  meta=${JSON.stringify(e.metadata)}` : '';
  const sig = e.signatures.length ? `  signed(${e.signatures.length})` : '';
  const type = e.type === 'event' ? '' : ` ${e.type}`;
  return `#${e.index}  ${e.timestamp.toISOString()}  ${e.id}${type}  ${data}${meta}${sig}`;
}

export function entryBlock(e: Entry): string {
  return [
    `index:        ${e.index}`,
    `id:           ${e.id}`,
    `timestamp:    ${e.timestamp.toISOString()}`,
    `type:         ${e.type}`,
    `hash:         ${e.hash}`,
    `previousHash: ${e.previousHash ?? '(none: first entry)'}`,
    `dataDigest:   ${e.dataDigest}`,
    `signatures:   ${e.signatures.length ? e.signatures.map((s) => `${s.algorithm}/${s.keyId}`).join(', ') : '(none)'}`,
    `metadata:     ${JSON.stringify(e.metadata)}`,
    `data:         ${e.redacted ? '[redacted]' : JSON.stringify(e.data, null, 2).replace(/\n/g, '\n              ')}`,
  ].join('\n');
}

/**
 * The verification report for humans: what was checked, the assurance, and the failure if any.
 * `checkpointSignatures` says whether (and with which key) checkpoint signatures were checked: the
 * report's `checkpointsChecked` counts checkpoint roots compared with the recomputed tree, which
 * happens with or without a log key.
 */
export function reportText(
  r: VerificationReport & { origin?: string },
  title: string,
  checkpointSignatures?: string,
): string {
  const lines: string[] = [];
  lines.push(r.ok ? `${title}: VALID` : `${title}: FAILED`);
  lines.push(
    `  entries checked:     ${r.entriesChecked}${r.fromIndex ? ` (from index ${r.fromIndex})` : ''} of ${r.size}`,
  );
  lines.push(`  entry signatures:    ${r.signaturesChecked} checked`);
  lines.push(
    `  checkpoints:         ${r.checkpointsChecked} root(s) compared with the recomputed tree${checkpointSignatures ? `; ${checkpointSignatures}` : ''}`,
  );
  if (r.redacted.length) lines.push(`  redacted entries:    ${r.redacted.join(', ')}`);
  if (r.rootHash) lines.push(`  root (${r.hashAlgorithm} entries, SHA-256 tree): ${r.rootHash}`);
  lines.push(`  assurance:           ${r.assurance}`);
  for (const c of r.checked) lines.push(`  ✓ ${c}`);
  for (const c of r.notChecked) lines.push(`  - not checked: ${c}`);
  if (r.failure) {
    const f = r.failure;
    lines.push(
      `  ✗ ${f.kind}${f.index !== undefined ? ` at entry ${f.index}` : ''}${f.id ? ` (${f.id})` : ''}: ${f.message}`,
    );
    if (f.expected !== undefined) lines.push(`    expected: ${f.expected}`);
    if (f.actual !== undefined) lines.push(`    actual:   ${f.actual}`);
  }
  lines.push(
    `  took ${(r.durationMs / 1000).toFixed(2)} s${r.threads && r.threads > 1 ? ` on ${r.threads} threads` : ''}`,
  );
  return lines.join('\n');
}

/** `5`, `0` → index; anything else → id. */
export function parseIdOrIndex(s: string): string | number {
  return /^(0|[1-9][0-9]*)$/.test(s) && Number.isSafeInteger(Number(s)) ? Number(s) : s;
}
