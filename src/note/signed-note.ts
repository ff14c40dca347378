/**
 * C2SP signed notes (spec digest §2.1, §2.3): parse, verify, sign.
 *
 *   note = text ("\n"-terminated lines) || "\n" || 1..100 lines of "— <name> <b64(keyID4 || sig)>\n"
 *
 * The signed message is exactly `text` (with its final newline). Every failure is a
 * `NoteError` whose `reason` says why; nothing else escapes these functions.
 */
import { fromBase64, toBase64 } from '../encoding/bytes.js';
import { NoteError } from '../errors.js';
import { formatKeyId, isValidKeyName, type NoteSigner, type NoteVerifier } from './keys.js';
import { hasForbiddenChar } from './text.js';

/** Lines we parse before declaring a note malformed (C2SP: at least 16; Go and signledger: 100). */
export const MAX_SIGNATURES = 100;

const SIG_PREFIX = '\u2014 '; // U+2014 EM DASH, then one ASCII space
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface NoteSignature {
  name: string;
  keyId: number;
  /** The signature bytes after the 4-byte key ID. */
  signature: Buffer;
  /** The whole signature line, without its final newline. */
  line: string;
}

export interface ParsedNote {
  text: string;
  signatures: NoteSignature[];
}

export interface OpenedNote {
  text: string;
  /** One entry per known key that signed (the first of its lines), in line order. */
  verified: NoteSignature[];
  /** Lines from unknown keys, identical lines listed once, in line order. */
  unverified: NoteSignature[];
}

export interface OpenNoteOptions {
  /** Lower the signature-line limit (never above MAX_SIGNATURES). */
  maxSignatures?: number;
}

function malformed(message: string, cause?: unknown): NoteError {
  return new NoteError('malformed', message, cause === undefined ? {} : { cause });
}

function decodeNote(note: string | Uint8Array): string {
  let s: string;
  if (typeof note === 'string') s = note;
  else if (note instanceof Uint8Array) {
    try {
      s = utf8Decoder.decode(note);
    } catch (cause) {
      throw malformed('note is not valid UTF-8', cause);
    }
  } else throw malformed('note must be a string or bytes');
  if (hasForbiddenChar(s, true)) throw malformed('note contains a control character or invalid UTF-8');
  return s;
}

/** Parses one signature line (without its newline). Syntax only. */
export function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(SIG_PREFIX)) throw malformed('signature line must start with an em dash and a space');
  const sp = line.indexOf(' ', SIG_PREFIX.length);
  if (sp < 0) throw malformed('signature line needs "<name> <base64>"');
  const name = line.slice(SIG_PREFIX.length, sp);
  if (!isValidKeyName(name)) throw malformed('signature line has an invalid key name');
  let raw: Buffer;
  try {
    raw = fromBase64(line.slice(sp + 1));
  } catch (cause) {
    throw malformed('signature is not padded canonical base64', cause);
  }
  if (raw.byteLength < 5) throw malformed('signature is shorter than a key ID and one byte');
  return { name, keyId: raw.readUInt32BE(0), signature: raw.subarray(4), line };
}

export function formatSignatureLine(name: string, keyId: number, signature: Uint8Array): string {
  const raw = Buffer.allocUnsafe(4 + signature.byteLength);
  raw.writeUInt32BE(keyId, 0);
  raw.set(signature, 4);
  return `${SIG_PREFIX}${name} ${toBase64(raw)}`;
}

function signatureLimit(opts: OpenNoteOptions | undefined): number {
  const max = opts?.maxSignatures;
  if (max === undefined) return MAX_SIGNATURES;
  if (!Number.isInteger(max) || max < 1) throw malformed('maxSignatures must be a positive integer');
  return Math.min(max, MAX_SIGNATURES);
}

/** Splits a note into text and signature lines. Checks syntax only; verifies nothing. */
export function parseNote(note: string | Uint8Array, opts?: OpenNoteOptions): ParsedNote {
  const limit = signatureLimit(opts);
  const s = decodeNote(note);
  // The signature block has no empty line, so the last "\n\n" is the separator.
  const i = s.lastIndexOf('\n\n');
  if (i < 0) throw malformed('note has no blank line before its signatures');
  const text = s.slice(0, i + 1);
  const blockStart = i + 2;
  if (blockStart === s.length) throw malformed('note has no signature lines');
  if (s.charCodeAt(s.length - 1) !== 0x0a) throw malformed('note must end with a newline');
  const signatures: NoteSignature[] = [];
  for (let start = blockStart; start < s.length; ) {
    const end = s.indexOf('\n', start);
    if (signatures.length === limit) throw malformed(`note has more than ${limit} signature lines`);
    signatures.push(parseSignatureLine(s.slice(start, end)));
    start = end + 1;
  }
  return { text, signatures };
}

/**
 * Verifies a note against known keys (§2.3). Lines from unknown keys are ignored; a
 * line matching two known keys is `ambiguous_key`; a known key's bad signature fails
 * the whole note (`invalid_signature`); at least one known key must have signed
 * (`no_verified_signature`). Every line of a known key is verified, not only the first.
 */
export function openNote(
  note: string | Uint8Array,
  verifiers: readonly NoteVerifier[],
  opts?: OpenNoteOptions,
): OpenedNote {
  const { text, signatures } = parseNote(note, opts);
  const msg = Buffer.from(text, 'utf8');
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seenKeys = new Set<NoteVerifier>();
  const seenLines = new Set<string>();
  for (const sig of signatures) {
    let match: NoteVerifier | undefined;
    for (const v of verifiers) {
      if (v.keyId !== sig.keyId || v.name !== sig.name) continue;
      if (match !== undefined) {
        throw new NoteError(
          'ambiguous_key',
          `more than one known key matches ${sig.name}+${formatKeyId(sig.keyId)}`,
        );
      }
      match = v;
    }
    if (match === undefined) {
      if (!seenLines.has(sig.line)) {
        seenLines.add(sig.line);
        unverified.push(sig);
      }
      continue;
    }
    let ok: boolean;
    try {
      ok = match.verify(msg, sig.signature) === true;
    } catch (cause) {
      throw new NoteError('invalid_signature', `verifier for ${sig.name} failed`, { cause });
    }
    if (!ok) {
      throw new NoteError('invalid_signature', `invalid signature by ${sig.name}+${formatKeyId(sig.keyId)}`, {
        details: { name: sig.name, keyId: formatKeyId(sig.keyId) },
      });
    }
    if (!seenKeys.has(match)) {
      seenKeys.add(match);
      verified.push(sig);
    }
  }
  if (verified.length === 0) {
    throw new NoteError('no_verified_signature', 'no signature by a known key', {
      details: { unverified: unverified.map((s) => `${s.name}+${formatKeyId(s.keyId)}`) },
    });
  }
  return { text, verified, unverified };
}

/** Checks that `text` can be the text of a note: non-empty, "\n"-terminated, no controls. */
export function assertNoteText(text: string): void {
  if (typeof text !== 'string' || text.length === 0) throw malformed('note text must be a non-empty string');
  if (text.charCodeAt(text.length - 1) !== 0x0a) throw malformed('note text must end with a newline');
  if (hasForbiddenChar(text, true))
    throw malformed('note text contains a control character or invalid UTF-8');
}

/**
 * Signs `text` with each signer. `existingSignatureLines` (e.g. from an earlier parseNote)
 * are kept first, except those by one of `signers`' keys, which the new lines replace.
 */
export function signNote(
  text: string,
  signers: readonly NoteSigner[],
  existingSignatureLines: readonly string[] = [],
): string {
  assertNoteText(text);
  const msg = Buffer.from(text, 'utf8');
  const lines: string[] = [];
  for (const raw of existingSignatureLines) {
    const line = raw.endsWith('\n') ? raw.slice(0, -1) : raw;
    const sig = parseSignatureLine(line);
    if (signers.some((s) => s.keyId === sig.keyId && s.name === sig.name)) continue;
    lines.push(line);
  }
  for (const signer of signers) {
    if (!isValidKeyName(signer.name)) throw malformed(`invalid signer name ${JSON.stringify(signer.name)}`);
    lines.push(formatSignatureLine(signer.name, signer.keyId, signer.sign(msg)));
  }
  return assembleNote(text, lines);
}

/** text || "\n" || lines, each "\n"-terminated. Lines must already be valid. */
export function assembleNote(text: string, lines: readonly string[]): string {
  if (lines.length === 0) throw malformed('a note needs at least one signature');
  if (lines.length > MAX_SIGNATURES) throw malformed(`a note may carry at most ${MAX_SIGNATURES} signatures`);
  return `${text}\n${lines.join('\n')}\n`;
}
