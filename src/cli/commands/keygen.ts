import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Command } from 'commander';
import type { EcdsaCurve } from '../../crypto/signatures/algorithms.js';
import type { KeySigner } from '../../crypto/signatures/base.js';
import { ECDSASigner } from '../../crypto/signatures/ecdsa.js';
import { Ed25519Signer } from '../../crypto/signatures/ed25519.js';
import { KeyRing } from '../../crypto/signatures/keyring.js';
import { RSASigner, type RsaKeySize } from '../../crypto/signatures/rsa.js';
import { action, examples } from '../command.js';
import { CliError } from '../errors.js';
import { writeSecretFile } from '../keys.js';

const TYPES = ['ed25519', 'rsa', 'ecdsa'] as const;

/**
 * Replace `file` atomically: write a temp file with an unpredictable name, created exclusively (`wx`:
 * never follows or reuses a planted file or symlink), then rename it over `file`.
 */
export async function replaceFile(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, text, { flag: 'wx', mode: 0o644 });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
}

/**
 * Run `fn` holding `<file>.lock`, created exclusively (`wx`: exactly one process wins), so keygens
 * that read, extend and replace one keyring do not overwrite each other's keys. Another holder is
 * waited for up to `waitMs`; the lock is removed when `fn` ends. A run killed meanwhile leaves the
 * lock behind: the next one reports it by name after the wait.
 */
export async function withFileLock<T>(file: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await writeFile(lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (Date.now() >= deadline) {
        throw new CliError(
          `${lock} exists: another \`signledger keygen\` is updating ${file} (waited ${waitMs} ms; --lock-timeout). If none is running, one was interrupted: remove the lock file`,
          'LOCKED',
        );
      }
      await delay(10 + Math.floor(Math.random() * 40));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}

export function registerKeygen(program: Command): void {
  const cmd = program
    .command('keygen')
    .description(
      'generate an entry-signing key pair (private PEM mode 0600, public PEM) and add it to <out>/keyring.json',
    )
    .option('--type <type>', 'ed25519, rsa or ecdsa', 'ed25519')
    .requiredOption('--out <dir>', 'directory for the key files (created)')
    .option('--curve <curve>', 'ECDSA curve: P-256, P-384, P-521, secp256k1', 'P-256')
    .option('--bits <n>', 'RSA modulus: 2048, 3072, 4096', '3072')
    .option('--label <label>', 'label stored in the keyring')
    .option(
      '--passphrase-env <var>',
      'encrypt the private key with the passphrase in this environment variable',
    )
    .action(
      action<{
        type: string;
        out: string;
        curve: string;
        bits: string;
        label?: string;
        passphraseEnv?: string;
      }>(async (ctx, _args, o) => {
        if (!(TYPES as readonly string[]).includes(o.type))
          throw new CliError(`--type must be one of ${TYPES.join(', ')}`);
        let passphrase: string | undefined;
        if (o.passphraseEnv !== undefined) {
          passphrase = process.env[o.passphraseEnv];
          if (!passphrase)
            throw new CliError(`environment variable ${o.passphraseEnv} (--passphrase-env) is not set`);
        }
        let signer: KeySigner;
        try {
          signer =
            o.type === 'ed25519'
              ? new Ed25519Signer()
              : o.type === 'ecdsa'
                ? new ECDSASigner({ curve: o.curve as EcdsaCurve })
                : await RSASigner.generate({ keySize: Number(o.bits) as RsaKeySize });
        } catch (err) {
          throw new CliError(`cannot generate the key: ${(err as Error).message}`);
        }
        await mkdir(o.out, { recursive: true });
        const base = join(o.out, `${o.type}-${signer.keyId}`);
        const privateFile = `${base}.pem`;
        const publicFile = `${base}.pub.pem`;
        const ringFile = join(o.out, 'keyring.json');
        // Read, extend and replace the keyring under its lock: concurrent keygens into one
        // directory each add their key instead of replacing the ring with their own read of it.
        await withFileLock(ringFile, ctx.lockTimeoutMs, async () => {
          // Load the keyring before writing anything, so a broken one stops the command cleanly.
          let ring = new KeyRing();
          if (existsSync(ringFile)) {
            try {
              ring = KeyRing.fromJSON(await readFile(ringFile, 'utf8'));
            } catch (err) {
              throw new CliError(`${ringFile} is not a keyring: ${(err as Error).message}`);
            }
          }
          ring.add(signer, o.label !== undefined ? { label: o.label } : {});
          await writeSecretFile(
            privateFile,
            signer.exportPrivateKeyPem(passphrase !== undefined ? { passphrase } : {}),
          );
          await writeFile(publicFile, signer.exportPublicKeyPem(), { flag: 'wx' });
          await replaceFile(ringFile, `${JSON.stringify(ring.toJSON(), null, 2)}\n`);
        });
        const result = {
          type: o.type,
          algorithm: signer.algorithm,
          keyId: signer.keyId,
          privateKey: privateFile,
          publicKey: publicFile,
          keyring: ringFile,
        };
        ctx.print(
          () =>
            [
              `${signer.algorithm} key ${signer.keyId}`,
              `private key (secret, mode 0600): ${privateFile}`,
              `public key: ${publicFile}`,
              `keyring (public keys, for verify --keys): ${ringFile}`,
            ].join('\n'),
          result,
        );
        return 0;
      }),
    );
  examples(cmd, [
    'signledger keygen --type ed25519 --out keys/',
    'signledger keygen --type ecdsa --curve P-384 --out keys/',
    'signledger keygen --type rsa --bits 4096 --out keys/ --passphrase-env KEY_PASSPHRASE',
  ]);
}
