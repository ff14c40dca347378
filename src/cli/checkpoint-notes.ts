/**
 * Checkpoints the user hands to the CLI (`--trusted`) and which key the stored ones name: a file
 * that is not a checkpoint at all, or checkpoints that carry no signature line by the given key
 * (C2SP signed-note key id: name and key hash), are input errors (exit 2), not tampering. A
 * checkpoint that names the key but whose signature does not verify is left to verification
 * (exit 1).
 */
import { parseCheckpointBody } from '../note/checkpoint.js';
import { formatKeyId, type NoteVerifier } from '../note/keys.js';
import { parseNote } from '../note/signed-note.js';
import { CliError } from './errors.js';
import { readTextFile } from './keys.js';

/** The `name+keyhash` ids of a checkpoint note's signature lines; throws for anything else. */
function signersOf(text: string): string[] {
  const note = parseNote(text);
  parseCheckpointBody(note.text);
  return note.signatures.map((s) => `${s.name}+${formatKeyId(s.keyId)}`);
}

/** The `name+keyhash` ids of a note's signature lines, or null when it is not a checkpoint note. */
export function checkpointSigners(text: string): string[] | null {
  try {
    return signersOf(text);
  } catch {
    return null;
  }
}

/** True when one of the note's signature lines names `key` (its name and key hash). */
export function namesKey(signers: readonly string[], key: NoteVerifier): boolean {
  return signers.includes(`${key.name}+${formatKeyId(key.keyId)}`);
}

/** Read a --trusted file: exit 2 when it is not a signed C2SP checkpoint. Returns its text and signers. */
export function readTrustedCheckpoint(path: string): { text: string; signers: string[] } {
  const text = readTextFile(path, 'trusted checkpoint');
  try {
    return { text, signers: signersOf(text) };
  } catch (err) {
    throw new CliError(
      `malformed checkpoint: the trusted checkpoint ${path} is not a signed C2SP checkpoint (${(err as Error).message})`,
      'NOT_CHECKPOINT',
    );
  }
}

/** Exit 2 when the trusted checkpoint carries no signature by the log key: the key or the file is wrong. */
export function requireTrustedSignedBy(
  path: string,
  signers: readonly string[],
  key: NoteVerifier,
  keySource: string,
): void {
  if (namesKey(signers, key)) return;
  throw new CliError(
    `wrong key: the trusted checkpoint ${path} is not signed by the log key ${key.name}+${formatKeyId(key.keyId)} (from ${keySource}) but by ${signers.join(', ')}`,
    'WRONG_KEY',
  );
}
