/**
 * C2SP tlog-cosignature v1, Ed25519 flavour: a witness's timestamped signature over a
 * checkpoint, carried as one more signed-note line.
 *
 *   keyID   = SHA-256(name || "\n" || 0x04 || pubkey32)[0:4]
 *   message = "cosignature/v1\ntime <unix seconds>\n" || checkpoint body (whole note text)
 *   sig     = u64be(time) || Ed25519(message)      (72 bytes)
 *
 * Witness private keys have no standard encoding; signledger mirrors Go's
 * `PRIVATE+KEY+<name>+<hex keyID>+b64(0x04 || seed32)`.
 */
import { randomBytes } from 'node:crypto';
import { KeyError, NoteError } from '../errors.js';
import { parseCheckpointBody } from './checkpoint.js';
import { MAX_COSIGNATURE_TIME, signCosignature } from './cosignature-format.js';
import { ED25519_KEY_LENGTH, ed25519PrivateKey, ed25519RawPublicKey } from './ed25519.js';
import {
  formatSignerKey,
  formatVerifierKey,
  isValidKeyName,
  KEY_TYPE_COSIGNATURE_V1,
  makeVerifier,
  type NoteVerifier,
  noteKeyId,
  parseSignerKeyParts,
  parseVerifierKeyOfType,
} from './keys.js';
import { assembleNote, formatSignatureLine, parseNote } from './signed-note.js';

export { COSIGNATURE_LENGTH, cosignatureTime } from './cosignature-format.js';

export interface WitnessSigner {
  readonly name: string;
  readonly keyId: number;
  readonly verifierKey: string;
  /** 72-byte timestamped signature over `body` (the checkpoint note text) at `time` (unix seconds). */
  cosign(body: Uint8Array, time: number): Buffer;
}

export interface GeneratedWitnessKey {
  /** Secret. */
  signerKey: string;
  verifierKey: string;
  signer: WitnessSigner;
  verifier: NoteVerifier;
}

function checkTime(time: number): bigint {
  if (!Number.isSafeInteger(time) || time < 0 || BigInt(time) > MAX_COSIGNATURE_TIME) {
    throw new NoteError('malformed', 'cosignature time must be a non-negative integer number of seconds');
  }
  return BigInt(time);
}

function makeWitnessSigner(name: string, seed: Uint8Array): { signer: WitnessSigner; publicKey: Buffer } {
  const priv = ed25519PrivateKey(seed);
  const publicKey = ed25519RawPublicKey(priv);
  const signer: WitnessSigner = Object.freeze({
    name,
    keyId: noteKeyId(name, KEY_TYPE_COSIGNATURE_V1, publicKey),
    verifierKey: formatVerifierKey(name, KEY_TYPE_COSIGNATURE_V1, publicKey),
    cosign: (body: Uint8Array, time: number) => signCosignature(priv, body, checkTime(time)),
  });
  return { signer, publicKey };
}

export function generateWitnessKey(name: string): GeneratedWitnessKey {
  if (!isValidKeyName(name)) throw new KeyError(`invalid key name ${JSON.stringify(name)}`);
  const seed = randomBytes(ED25519_KEY_LENGTH);
  const { signer, publicKey } = makeWitnessSigner(name, seed);
  return {
    signerKey: formatSignerKey(name, KEY_TYPE_COSIGNATURE_V1, seed, publicKey),
    verifierKey: signer.verifierKey,
    signer,
    verifier: makeVerifier(name, KEY_TYPE_COSIGNATURE_V1, publicKey),
  };
}

/** A witness vkey: like parseVerifierKey but the type byte must be 0x04. Throws KeyError. */
export function parseWitnessVerifierKey(vkey: string): NoteVerifier {
  return parseVerifierKeyOfType(vkey, KEY_TYPE_COSIGNATURE_V1);
}

/** `PRIVATE+KEY+<name>+<hex keyID>+b64(0x04 || seed32)`. Throws KeyError. */
export function parseWitnessSignerKey(skey: string): WitnessSigner {
  const p = parseSignerKeyParts(skey, [KEY_TYPE_COSIGNATURE_V1]);
  return makeWitnessSigner(p.name, p.material).signer;
}

/**
 * Adds `witness`'s cosignature (at `time`, unix seconds, default now) to a checkpoint note.
 * Other lines are kept in order; an earlier line by the same witness key is replaced.
 * The body must be a valid checkpoint; the log signature is NOT verified here — a witness
 * must do that (and check consistency) before calling this.
 */
export function cosignCheckpoint(
  note: string | Uint8Array,
  witness: WitnessSigner,
  time: number = Math.floor(Date.now() / 1000),
): string {
  const { text, signatures } = parseNote(note);
  parseCheckpointBody(text, { allowBigSize: true });
  const lines: string[] = [];
  for (const s of signatures) {
    if (s.name === witness.name && s.keyId === witness.keyId) continue;
    lines.push(s.line);
  }
  lines.push(
    formatSignatureLine(witness.name, witness.keyId, witness.cosign(Buffer.from(text, 'utf8'), time)),
  );
  return assembleNote(text, lines);
}
