import { sign as cryptoSign, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeyRing, RemoteSigner, resolveSigner, SIGNER } from '../../src/crypto/signatures/index.js';
import { KeyError, SignatureError, ValidationError } from '../../src/errors.js';
import { ENTRY_HASH } from './fixtures.js';

describe('RemoteSigner', () => {
  const kms = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pubPem = kms.publicKey.export({ type: 'spki', format: 'pem' }) as string;

  it('signs through the callback and verifies locally', async () => {
    const seen: Array<{ hash: string | null; algorithm: string }> = [];
    const remote = new RemoteSigner({
      algorithm: 'ecdsa-p256-sha256',
      publicKey: pubPem,
      sign: async (bytes, ctx) => {
        seen.push({ hash: ctx.hash, algorithm: ctx.algorithm });
        return cryptoSign('sha256', bytes, kms.privateKey);
      },
    });
    const { sign } = remote; // unbound
    const sig = await sign(ENTRY_HASH);
    expect(remote.verify(ENTRY_HASH, sig)).toBe(true);
    expect(await remote.verifyAsync(ENTRY_HASH, sig)).toBe(true);
    expect(remote.verify('other', sig)).toBe(false);
    const rec = await remote.signRecord(ENTRY_HASH);
    expect(rec.keyId).toBe(remote.keyId);
    expect(seen[0]).toEqual({ hash: 'sha256', algorithm: 'ecdsa-p256-sha256' });
    expect(resolveSigner(remote.sign)).toBe(remote);
    expect(remote.sign[SIGNER]).toBe(remote);
    const ring = new KeyRing([remote]);
    expect(ring.check(rec, ENTRY_HASH, { index: 0 }).ok).toBe(true);
  });

  it('gives up on a remote that never answers (timeoutMs), aborting its signal; a ledger keeps going', async () => {
    let signal: AbortSignal | undefined;
    const hung = new RemoteSigner({
      algorithm: 'ecdsa-p256-sha256',
      publicKey: pubPem,
      timeoutMs: 50,
      sign: (_bytes, ctx) => {
        signal = ctx.signal;
        return new Promise<Uint8Array>(() => {});
      },
    });
    const err = await hung.sign('m').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SignatureError);
    expect((err as Error).message).toMatch(/timed out after 50 ms/);
    expect(signal?.aborted).toBe(true);
    expect(
      () =>
        new RemoteSigner({
          algorithm: 'ecdsa-p256-sha256',
          publicKey: pubPem,
          timeoutMs: 0,
          sign: async () => new Uint8Array(),
        }),
    ).toThrow(ValidationError);

    // A signer that never settles (no timeout of its own) fails only its entry after the ledger's
    // signTimeoutMs; an unsigned append queued behind it commits, and close() returns.
    const forever = new RemoteSigner({
      algorithm: 'ecdsa-p256-sha256',
      publicKey: pubPem,
      timeoutMs: Number.POSITIVE_INFINITY,
      sign: () => new Promise<Uint8Array>(() => {}),
    });
    const { Ledger } = await import('../../src/ledger/ledger.js');
    const ledger = new Ledger({ signTimeoutMs: 100 });
    const signed = ledger.append({ a: 1 }, { signer: forever });
    const plain = ledger.append({ b: 2 });
    await expect(signed).rejects.toThrow(/timed out after 100 ms/);
    expect((await plain).index).toBe(0);
    expect((await ledger.getEntries()).map((e) => e.data)).toEqual([{ b: 2 }]);
    await ledger.close();
    expect(() => new Ledger({ signTimeoutMs: -1 })).toThrow(/signTimeoutMs/);
    // Past Node's longest timer a delay would fire after 1 ms: refused, not 'forever'.
    expect(() => new Ledger({ signTimeoutMs: 2 ** 31 })).toThrow(/signTimeoutMs/);
    expect(
      () =>
        new RemoteSigner({
          algorithm: 'ecdsa-p256-sha256',
          publicKey: pubPem,
          timeoutMs: 1e10,
          sign: async () => new Uint8Array(),
        }),
    ).toThrow(ValidationError);
    expect(new Ledger({ signTimeoutMs: 2 ** 31 - 1 })).toBeInstanceOf(Ledger);
  });

  it('a remote that signs with another key or returns junk fails at signing time', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const wrongKey = new RemoteSigner({
      algorithm: 'ecdsa-p256-sha256',
      publicKey: kms.publicKey,
      sign: async (bytes) => cryptoSign('sha256', bytes, other.privateKey),
    });
    await expect(wrongKey.sign('m')).rejects.toBeInstanceOf(SignatureError);
    const junk = new RemoteSigner({
      algorithm: 'ecdsa-p256-sha256',
      publicKey: kms.publicKey,
      sign: async () => 'not bytes' as never,
    });
    await expect(junk.sign('m')).rejects.toThrow(/did not return bytes/);
    const failing = new RemoteSigner({
      algorithm: 'ecdsa-p256-sha256',
      publicKey: kms.publicKey,
      sign: async () => {
        throw new Error('KMS down');
      },
    });
    const err = await failing.sign('m').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SignatureError);
    expect((err as Error).cause).toBeInstanceOf(Error);
  });

  it('refuses private keys, mismatched algorithms and missing callbacks', () => {
    expect(
      () =>
        new RemoteSigner({
          algorithm: 'ecdsa-p256-sha256',
          publicKey: kms.privateKey,
          sign: async () => new Uint8Array(),
        }),
    ).toThrow(KeyError);
    expect(
      () =>
        new RemoteSigner({
          algorithm: 'ed25519',
          publicKey: kms.publicKey,
          sign: async () => new Uint8Array(),
        }),
    ).toThrow(KeyError);
    expect(
      () =>
        new RemoteSigner({
          algorithm: 'ecdsa-p384-sha384',
          publicKey: pubPem,
          sign: async () => new Uint8Array(),
        }),
    ).toThrow(KeyError);
    expect(() => new RemoteSigner({ algorithm: 'ecdsa-p256-sha256', publicKey: pubPem } as never)).toThrow(
      ValidationError,
    );
    expect(
      () =>
        new RemoteSigner({ algorithm: 'x' as never, publicKey: pubPem, sign: async () => new Uint8Array() }),
    ).toThrow(ValidationError);
  });
});
