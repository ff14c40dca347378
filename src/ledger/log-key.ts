import { ConfigurationError } from '../errors.js';
import {
  generateNoteKey,
  type NoteSigner,
  type NoteVerifier,
  parseSignerKey,
  parseVerifierKey,
} from '../note/keys.js';

/**
 * The key a log signs its checkpoints with (Ed25519, C2SP signed-note). Its name is the
 * checkpoint origin. `verifierKey` is the public C2SP vkey string (`name+keyhash+base64`) that
 * auditors pin; `signerKey` is the secret (Go `PRIVATE+KEY+...` encoding) — keep it out of the store.
 */
export interface LogKey {
  readonly name: string;
  readonly verifierKey: string;
  readonly signerKey?: string;
  readonly signer?: NoteSigner;
  readonly verifier: NoteVerifier;
}

/** Generate a fresh Ed25519 log key whose name (and checkpoint origin) is `name`. */
export function generateLogKey(name: string): Required<LogKey> {
  const k = generateNoteKey(name);
  return Object.freeze({
    name,
    verifierKey: k.verifierKey,
    signerKey: k.signerKey,
    signer: k.signer,
    verifier: k.verifier,
  });
}

/** Accept a LogKey, a `PRIVATE+KEY+...` string (signing) or a vkey string (verify only). */
export function resolveLogKey(key: LogKey | string): LogKey {
  if (typeof key === 'string') {
    if (key.startsWith('PRIVATE+KEY+')) {
      const signer = parseSignerKey(key);
      const verifier = parseVerifierKey(signer.verifierKey);
      return Object.freeze({
        name: signer.name,
        verifierKey: signer.verifierKey,
        signerKey: key,
        signer,
        verifier,
      });
    }
    const verifier = parseVerifierKey(key);
    return Object.freeze({ name: verifier.name, verifierKey: key, verifier });
  }
  if (!key || typeof key.verifierKey !== 'string')
    throw new ConfigurationError('logKey must be a LogKey or a key string');
  if (key.signerKey && !key.signer) return resolveLogKey(key.signerKey);
  if (!key.verifier) return { ...key, verifier: parseVerifierKey(key.verifierKey) };
  return key;
}
