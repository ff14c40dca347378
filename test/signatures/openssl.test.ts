import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ECDSASigner,
  Ed25519Signer,
  keyIdOf,
  RSASigner,
  verifySignature,
} from '../../src/crypto/signatures/index.js';
import { ENTRY_HASH, fixtures } from './fixtures.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'signledger-openssl-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
function file(content: string | Uint8Array): string {
  const p = join(dir, `f${counter++}`);
  writeFileSync(p, content);
  return p;
}

/** Runs openssl; returns [exit status, stdout+stderr]. */
function openssl(args: string[]): [number, string] {
  try {
    const out = execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    return [0, out.toString()];
  } catch (e) {
    const err = e as { status: number; stdout?: Buffer; stderr?: Buffer };
    return [err.status, `${err.stdout?.toString() ?? ''}${err.stderr?.toString() ?? ''}`];
  }
}

const PSS_OPTS = ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32'];

/** openssl args that verify `sig` over `msg` with public key `pub` for a given signer. */
function verifyArgs(algorithm: string, pub: string, msg: string, sig: string): string[] {
  switch (algorithm) {
    case 'ed25519':
      return ['pkeyutl', '-verify', '-pubin', '-inkey', pub, '-rawin', '-in', msg, '-sigfile', sig];
    case 'rsa-pss-sha256':
      return ['dgst', '-sha256', '-verify', pub, ...PSS_OPTS, '-signature', sig, msg];
    case 'rsa-pkcs1v15-sha256':
    case 'ecdsa-p256-sha256':
    case 'ecdsa-secp256k1-sha256':
      return ['dgst', '-sha256', '-verify', pub, '-signature', sig, msg];
    case 'ecdsa-p384-sha384':
      return ['dgst', '-sha384', '-verify', pub, '-signature', sig, msg];
    case 'ecdsa-p521-sha512':
      return ['dgst', '-sha512', '-verify', pub, '-signature', sig, msg];
    default:
      throw new Error(algorithm);
  }
}

describe('openssl verifies our signatures', () => {
  const signers = () => [
    new Ed25519Signer(),
    new ECDSASigner({ curve: 'P-256' }),
    new ECDSASigner({ curve: 'P-384' }),
    new ECDSASigner({ curve: 'P-521' }),
    new ECDSASigner({ curve: 'secp256k1' }),
    fixtures.rsaPss(),
    fixtures.rsaPkcs1(),
  ];
  for (const signer of signers()) {
    it(signer.algorithm, async () => {
      const pub = file(signer.exportPublicKeyPem());
      const msg = file(ENTRY_HASH);
      const sig = file(Buffer.from(await signer.sign(ENTRY_HASH), 'base64'));
      const [ok, out] = openssl(verifyArgs(signer.algorithm, pub, msg, sig));
      expect(out).toMatch(/Verified OK|Signature Verified Successfully/);
      expect(ok).toBe(0);
      // and openssl rejects it over another message (the check is not vacuous)
      const [bad] = openssl(verifyArgs(signer.algorithm, pub, file(`${ENTRY_HASH}x`), sig));
      expect(bad).not.toBe(0);
    });
  }

  it('our key id matches SHA-256 over the DER SPKI openssl derives', () => {
    const ec = new ECDSASigner({ curve: 'P-384' });
    const der = execFileSync('openssl', [
      'pkey',
      '-pubin',
      '-in',
      file(ec.exportPublicKeyPem()),
      '-outform',
      'DER',
    ]);
    const digest = execFileSync('openssl', ['dgst', '-sha256', '-r'], { input: der }).toString().slice(0, 64);
    expect(ec.keyId).toBe(digest.slice(0, 32));
  });

  it('openssl decrypts our encrypted PKCS#8 export', () => {
    const rsa = fixtures.rsaPss();
    const enc = file(rsa.exportPrivateKeyPem({ passphrase: 's3cret' }));
    const pub = execFileSync('openssl', ['pkey', '-in', enc, '-passin', 'pass:s3cret', '-pubout']).toString();
    expect(pub).toBe(rsa.exportPublicKeyPem());
    const [status] = openssl(['pkey', '-in', enc, '-passin', 'pass:wrong', '-pubout']);
    expect(status).not.toBe(0);
  });
});

describe('we verify signatures openssl made with keys openssl generated', () => {
  const cases: Array<{
    algorithm: string;
    genArgs: string[];
    signArgs: (key: string, msg: string, out: string) => string[];
  }> = [
    {
      algorithm: 'ed25519',
      genArgs: ['-algorithm', 'ed25519'],
      signArgs: (k, m, o) => ['pkeyutl', '-sign', '-inkey', k, '-rawin', '-in', m, '-out', o],
    },
    {
      algorithm: 'rsa-pss-sha256',
      genArgs: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
      signArgs: (k, m, o) => ['dgst', '-sha256', '-sign', k, ...PSS_OPTS, '-out', o, m],
    },
    {
      algorithm: 'rsa-pkcs1v15-sha256',
      genArgs: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
      signArgs: (k, m, o) => ['dgst', '-sha256', '-sign', k, '-out', o, m],
    },
    ...(
      [
        ['ecdsa-p256-sha256', 'P-256', 'sha256'],
        ['ecdsa-p384-sha384', 'P-384', 'sha384'],
        ['ecdsa-p521-sha512', 'P-521', 'sha512'],
        ['ecdsa-secp256k1-sha256', 'secp256k1', 'sha256'],
      ] as const
    ).map(([algorithm, curve, hash]) => ({
      algorithm,
      genArgs: ['-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`],
      signArgs: (k: string, m: string, o: string) => ['dgst', `-${hash}`, '-sign', k, '-out', o, m],
    })),
  ];

  for (const c of cases) {
    it(c.algorithm, async () => {
      const key = join(dir, `key${counter++}.pem`);
      // encrypted with a passphrase, so loading it also exercises openssl-made encrypted PKCS#8
      execFileSync('openssl', ['genpkey', ...c.genArgs, '-aes-256-cbc', '-pass', 'pass:pw', '-out', key], {
        stdio: 'pipe',
      });
      const plainKey = join(dir, `key${counter++}.pem`);
      execFileSync('openssl', ['pkey', '-in', key, '-passin', 'pass:pw', '-out', plainKey]);
      const pubPem = execFileSync('openssl', ['pkey', '-in', plainKey, '-pubout']).toString();
      const msg = file(ENTRY_HASH);
      const sigPath = join(dir, `sig${counter++}`);
      execFileSync('openssl', c.signArgs(plainKey, msg, sigPath));
      const sig = readFileSync(sigPath);

      const privPem = readFileSync(key, 'utf8');
      const verifier =
        c.algorithm === 'ed25519'
          ? Ed25519Signer.fromPem(pubPem)
          : c.algorithm.startsWith('rsa')
            ? RSASigner.fromPem(pubPem, { padding: c.algorithm === 'rsa-pss-sha256' ? 'pss' : 'pkcs1' })
            : ECDSASigner.fromPem(pubPem);
      expect(verifier.algorithm).toBe(c.algorithm);
      expect(verifier.canSign).toBe(false);
      expect(verifier.verify(ENTRY_HASH, sig)).toBe(true);
      expect(verifier.verify(`${ENTRY_HASH}x`, sig)).toBe(false);
      const record = {
        algorithm: verifier.algorithm,
        keyId: keyIdOf(verifier.publicKey),
        value: sig.toString('base64'),
      };
      expect(verifySignature(record, ENTRY_HASH, verifier.publicKey)).toBe(true);

      // the encrypted private key openssl wrote loads with its passphrase and signs compatibly
      const signer =
        c.algorithm === 'ed25519'
          ? Ed25519Signer.fromPem(privPem, { passphrase: 'pw' })
          : c.algorithm.startsWith('rsa')
            ? RSASigner.fromPem(privPem, {
                passphrase: 'pw',
                padding: c.algorithm === 'rsa-pss-sha256' ? 'pss' : 'pkcs1',
              })
            : ECDSASigner.fromPem(privPem, { passphrase: 'pw' });
      expect(signer.keyId).toBe(verifier.keyId);
      expect(verifier.verify('again', await signer.sign('again'))).toBe(true);
    });
  }
});
