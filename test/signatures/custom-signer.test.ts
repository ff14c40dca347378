/**
 * A hand-written Signer (any object with the Signer shape, not one of the package's classes) has
 * its records checked before anything is stored: a bad record fails only its own entry, and the
 * rest of the group commits. Records are stored for good, so a bad one would otherwise make every
 * later verify() fail with no way to remove it.
 */
import { describe, expect, it } from 'vitest';
import { Ed25519Signer, type SignatureRecord, type Signer } from '../../src/crypto/signatures/index.js';
import { SignatureError } from '../../src/errors.js';
import { Ledger } from '../../src/ledger/ledger.js';

const key = new Ed25519Signer();
const other = new Ed25519Signer();

/** A plain-object Signer over `key` whose signRecord is `signRecord`. */
function handWritten(signRecord: (message: string) => unknown): Signer {
  return {
    algorithm: key.algorithm,
    keyId: key.keyId,
    publicKey: key.publicKey,
    canSign: true,
    sign: (async (m: string) => ((await signRecord(m)) as SignatureRecord).value) as Signer['sign'],
    signRecord: signRecord as Signer['signRecord'],
    verify: key.verify,
    verifyAsync: key.verifyAsync,
  };
}

const good = handWritten((m) => key.signRecord(m));

const bad: [string, Signer][] = [
  ['a non-string value', handWritten(async () => ({ algorithm: 'ed25519', keyId: key.keyId, value: 123 }))],
  ['an extra member', handWritten(async (m) => ({ ...(await key.signRecord(m)), note: 'x' }))],
  ['a bare string', handWritten((m) => key.sign(m))],
  ['undefined', handWritten(async () => undefined)],
  ["another key's id", handWritten(async (m) => ({ ...(await key.signRecord(m)), keyId: other.keyId }))],
  [
    'a signature by another key',
    handWritten(async (m) => ({ ...(await other.signRecord(m)), keyId: key.keyId })),
  ],
  ['a signature over other bytes', handWritten(async () => key.signRecord('0'.repeat(64)))],
  [
    'a synchronous throw',
    handWritten(() => {
      throw new Error('sync boom');
    }),
  ],
];

describe('hand-written signers', () => {
  it('sign entries that verify when their records are sound', async () => {
    const ledger = new Ledger({ signer: good });
    const e = await ledger.append({ a: 1 });
    expect(e.signatures).toEqual([{ algorithm: 'ed25519', keyId: key.keyId, value: expect.any(String) }]);
    expect(key.verify(e.hash, e.signature!)).toBe(true);
    expect(await ledger.verify({ requireSignatures: 1 })).toMatchObject({ ok: true, signaturesChecked: 1 });
  });

  it.each(bad)(
    '%s fails only its own entry with SignatureError; the group commits the rest',
    async (_n, signer) => {
      const ledger = new Ledger();
      const results = await Promise.allSettled([
        ledger.append({ n: 1 }, { signer: key }),
        ledger.append({ n: 2 }, { signer }),
        ledger.append({ n: 3 }),
      ]);
      expect(results[0]!.status).toBe('fulfilled');
      expect(results[2]!.status).toBe('fulfilled');
      expect(results[1]!.status).toBe('rejected');
      expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(SignatureError);
      const stored = await ledger.getEntries();
      expect(stored.map((e) => e.data)).toEqual([{ n: 1 }, { n: 3 }]);
      expect(await ledger.verify({ keys: undefined })).toMatchObject({ ok: true });
    },
  );
});
