// Signatures by keys the verifier was not given are "not checked", never "verified": they must not
// count toward requireSignatures, on the main thread or on worker threads.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InMemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { Ed25519Signer, KeyRing } from '../../src/crypto/signatures/index.js';
import { Ledger } from '../../src/ledger/ledger.js';

const dir = mkdtempSync(join(tmpdir(), 'signledger-unknown-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('signatures by keys the verifier does not hold', () => {
  it('main thread: reported as not checked, and failing requireSignatures', async () => {
    const signer = new Ed25519Signer();
    const backend = new InMemoryBackend();
    const writer = new Ledger({ backend, signer });
    for (let i = 0; i < 3; i++) await writer.append({ i });
    expect((await writer.verify({ requireSignatures: 1 })).signaturesChecked).toBe(3);

    const reader = new Ledger({ backend }); // holds no key
    const plain = await reader.verify();
    expect(plain.ok).toBe(true);
    expect(plain.signaturesChecked).toBe(0);
    expect(plain.notChecked.join('\n')).toMatch(/keys this ledger was not given/);
    expect(plain.checked.join('\n')).not.toMatch(/signature\(s\) verified/);

    const required = await reader.verify({ requireSignatures: 1 });
    expect(required.ok).toBe(false);
    expect(required.failure).toMatchObject({ kind: 'key_unknown', index: 0 });
    await expect(reader.verifyIntegrity({ requireSignatures: 1 })).rejects.toThrow(
      /unknown|not trusted|key/i,
    );
    expect(await reader.verify({ keys: new KeyRing([signer]), requireSignatures: 1 })).toMatchObject({
      ok: true,
      signaturesChecked: 3,
    });
  });

  it('worker threads: the same verdicts', { timeout: 60_000 }, async () => {
    const path = join(dir, 'signed.db');
    const signer = new Ed25519Signer();
    const writer = new Ledger({ backend: new SQLiteBackend({ path, durability: 'normal' }), signer });
    // Enough entries for two worker segments (segments are at least 8,192 entries).
    for (let i = 0; i < 20_000; i += 2_000)
      await writer.appendBatch(Array.from({ length: 2_000 }, (_, j) => ({ i: i + j })));
    await writer.close();

    const reader = new Ledger({ backend: new SQLiteBackend({ path }) });
    const opts = { parallel: 2, parallelThreshold: 1 } as const;
    const plain = await reader.verify(opts);
    expect(plain.threads).toBeGreaterThan(1);
    expect(plain).toMatchObject({ ok: true, signaturesChecked: 0 });
    expect(plain.notChecked.join('\n')).toMatch(/keys this ledger was not given/);

    const required = await reader.verify({ ...opts, requireSignatures: 1 });
    expect(required.threads).toBeGreaterThan(1);
    expect(required.ok).toBe(false);
    expect(required.failure).toMatchObject({ kind: 'key_unknown' });
    await reader.close();
  });
});
