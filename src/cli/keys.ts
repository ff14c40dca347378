/** Key files: entry-signing PEM keys, keyrings, and the log key file (mode 0600). */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { ECDSASigner } from '../crypto/signatures/ecdsa.js';
import { Ed25519Signer } from '../crypto/signatures/ed25519.js';
import { KeyRing } from '../crypto/signatures/keyring.js';
import { describeKey, keyFromPem } from '../crypto/signatures/keys.js';
import { RSASigner } from '../crypto/signatures/rsa.js';
import type { Signer } from '../crypto/signatures/types.js';
import { parseVerifierKey } from '../note/keys.js';
import { CliError } from './errors.js';
import { stripBom } from './json-input.js';

export function readTextFile(path: string, what: string): string {
  try {
    return stripBom(readFileSync(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`missing file: ${what} ${path} does not exist`, 'NOT_FOUND');
    if (code === 'EISDIR') throw new CliError(`${what} ${path} is a directory, not a file`, 'NOT_FOUND');
    throw err;
  }
}

function passphraseFrom(env: string | undefined): string | undefined {
  if (env === undefined) return undefined;
  const v = process.env[env];
  if (v === undefined) throw new CliError(`environment variable ${env} (--passphrase-env) is not set`);
  return v;
}

/** A signer from a private key PEM file; the algorithm follows the key type. */
export function loadSigner(path: string, passphraseEnv?: string): Signer {
  const pem = readTextFile(path, 'signing key');
  const passphrase = passphraseFrom(passphraseEnv);
  // Same test as keyFromPem, so the message names the CLI option instead of the library's.
  const encrypted =
    /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem) || pem.includes('Proc-Type: 4,ENCRYPTED');
  if (encrypted && passphrase === undefined) {
    throw new CliError(
      `wrong key: ${path} is encrypted: put its passphrase in an environment variable and pass --passphrase-env VAR`,
      'WRONG_KEY',
    );
  }
  let signer: Signer;
  try {
    const kind = describeKey(keyFromPem(pem, { passphrase }).publicKey).kind;
    signer =
      kind === 'ed25519'
        ? Ed25519Signer.fromPem(pem, { passphrase })
        : kind === 'ec'
          ? ECDSASigner.fromPem(pem, { passphrase })
          : RSASigner.fromPem(pem, { passphrase });
  } catch (err) {
    if (encrypted)
      throw new CliError(
        `wrong key: cannot decrypt ${path} with the passphrase in $${passphraseEnv} (--passphrase-env): wrong passphrase or corrupt key`,
        'WRONG_KEY',
      );
    throw new CliError(
      `wrong key: ${path} is not a usable private key (${(err as Error).message})`,
      'WRONG_KEY',
    );
  }
  if (!signer.canSign)
    throw new CliError(`wrong key: ${path} holds a public key; signing needs the private key`, 'WRONG_KEY');
  return signer;
}

/** A keyring JSON file (KeyRing.toJSON, as `signledger keygen` maintains it). */
export function loadKeyRing(path: string): KeyRing {
  const text = readTextFile(path, 'keyring');
  try {
    return KeyRing.fromJSON(text);
  } catch (err) {
    throw new CliError(`wrong key: ${path} is not a keyring (${(err as Error).message})`, 'WRONG_KEY');
  }
}

/** `name+keyhash` of a C2SP verifier key (the key id a note signature line names). */
export function keyIdOf(vkey: string): string {
  return vkey.split('+').slice(0, 2).join('+');
}

/** A C2SP verifier key given inline or as a file holding one (a file of that name wins). */
export function resolveVkeyArg(arg: string): string {
  let text = arg.trim();
  if (existsSync(arg)) text = readTextFile(arg, 'verifier key').trim();
  else if (!text.includes('+')) {
    // Every verifier key holds '+' (name+hash+base64): without one, the argument names a file.
    throw new CliError(
      `missing file: verifier key file ${arg} does not exist (give a file or the key itself, name+hash+base64)`,
      'NOT_FOUND',
    );
  }
  try {
    parseVerifierKey(text);
  } catch (err) {
    throw new CliError(`wrong key: not a C2SP verifier key (${(err as Error).message})`, 'WRONG_KEY');
  }
  return text;
}

/** Write a secret file readable only by its owner; never overwrites. */
export async function writeSecretFile(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CliError(
        `refusing to overwrite ${path}: the file exists (move it away or choose another path)`,
        'EXISTS',
      );
    }
    throw err;
  }
  // The umask may have widened the mode on some systems; set it explicitly.
  await chmod(path, 0o600);
}
