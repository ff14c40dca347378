import { afterEach, describe, expect, it, vi } from 'vitest';
import { InMemoryBackend } from '../../src/backends/memory/memory-backend.js';
import {
  ECDSASigner,
  Ed25519Signer,
  KeyRing,
  MultiSigner,
  RemoteSigner,
  RSASigner,
} from '../../src/crypto/signatures/index.js';
import type { Entry } from '../../src/entry/types.js';
import { ClosedError, ConfigurationError, IntegrityError, ValidationError } from '../../src/errors.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { computeEntryHash } from '../../src/verify/proofs.js';

const rsa = new RSASigner({ keySize: 2048 });

afterEach(() => vi.useRealTimers());

describe('Ledger basics', () => {
  it('defaults to an in-memory backend and opens lazily', async () => {
    const ledger = new Ledger();
    expect(ledger.backend.kind).toBe('memory');
    const e = await ledger.append({ hello: 'world' });
    expect(e.index).toBe(0);
    expect((await ledger.getMeta()).hashAlgorithm).toBe('sha256');
    await ledger.close();
    await expect(ledger.append({ a: 1 })).rejects.toBeInstanceOf(ClosedError);
  });

  it('refuses a clock reading that is not whole epoch milliseconds, writing nothing', async () => {
    expect(() => new Ledger({ now: 5 as unknown as () => number })).toThrow(ConfigurationError);
    let reading = 1_700_000_000_000.5;
    const ledger = new Ledger({ now: () => reading });
    for (const bad of [1_700_000_000_000.5, Number.NaN, 9e15, Number.POSITIVE_INFINITY]) {
      reading = bad;
      await expect(ledger.append({ a: 1 })).rejects.toBeInstanceOf(ConfigurationError);
      await expect(ledger.appendBatch([{ a: 1 }])).rejects.toBeInstanceOf(ConfigurationError);
    }
    expect((await ledger.getStats()).totalEntries).toBe(0);
    reading = 1_700_000_000_000;
    const e = await ledger.append({ a: 1 });
    expect(e.timestamp.getTime()).toBe(reading);
    reading = 0.25;
    await expect(ledger.redact(e.id, { reason: 'gdpr' })).rejects.toBeInstanceOf(ConfigurationError);
    expect((await ledger.getStats()).totalEntries).toBe(1);
    expect((await ledger.getEntry(e.id))?.redacted).toBe(false);
    expect((await ledger.verify()).ok).toBe(true);
    await ledger.close();
  });

  it('refuses misspelt append options and unknown read orders instead of ignoring them', async () => {
    const ledger = new Ledger();
    await expect(ledger.append({ a: 1 }, { metdata: { m: 1 } } as never)).rejects.toThrow(
      /unknown append option "metdata"/,
    );
    await expect(ledger.appendBatch([{ a: 1 }], { signer: undefined, extra: 1 } as never)).rejects.toThrow(
      ValidationError,
    );
    expect(await ledger.getEntries()).toEqual([]);
    const frozen = Object.freeze({ metadata: { m: 1 } });
    await ledger.append({ a: 1 }, frozen);
    await ledger.append({ a: 2 }, frozen);
    expect((await ledger.getEntries()).map((e) => e.metadata)).toEqual([{ m: 1 }, { m: 1 }]);
    await expect(ledger.getEntries({ order: 'sideways' as never })).rejects.toThrow(
      /order must be 'asc' or 'desc'/,
    );
    await expect(ledger.query({ where: {}, order: 'up' as never })).rejects.toThrow(ValidationError);
    expect((await ledger.getEntries({ order: 'desc' })).map((e) => e.index)).toEqual([1, 0]);
    await ledger.close();
  });

  it('supports `await using`', async () => {
    const backend = new InMemoryBackend();
    {
      await using ledger = new Ledger({ backend });
      await ledger.append({ a: 1 });
    }
    await expect(backend.readHead()).rejects.toMatchObject({ code: 'STORAGE_CLOSED' });
  });

  it.each(['sha256', 'sha512', 'sha3-256', 'sha3-512'] as const)(
    'hashes with %s and the entry hash is reproducible',
    async (alg) => {
      const ledger = new Ledger({ hashAlgorithm: alg });
      const a = await ledger.append({ x: 1, nested: { y: [1, 2, 'three'] } }, { metadata: { m: true } });
      const b = await ledger.append({ x: 2 });
      expect(a.hash).toHaveLength(alg.endsWith('512') ? 128 : 64);
      expect(computeEntryHash(a, alg)).toBe(a.hash);
      expect(computeEntryHash(b, alg)).toBe(b.hash);
      expect(b.previousHash).toBe(a.hash);
      expect(await ledger.verifyIntegrity()).toBe(true);
      expect(() => computeEntryHash({ ...a, data: { x: 9 } } as Entry, alg)).toThrow(/digest/);
    },
  );

  it('refuses an unknown hash algorithm', () => {
    expect(() => new Ledger({ hashAlgorithm: 'md5' as never })).toThrow(ValidationError);
  });

  it('notifies subscribers after each durable append and stops on unsubscribe', async () => {
    const ledger = new Ledger();
    const seen: number[] = [];
    const cb = (e: Entry) => seen.push(e.index);
    ledger.subscribe(cb);
    ledger.subscribe(() => {
      throw new Error('a broken subscriber must not fail appends');
    });
    await ledger.append({ a: 1 });
    await Promise.all([ledger.append({ a: 2 }), ledger.append({ a: 3 })]);
    expect(ledger.unsubscribe(cb)).toBe(true);
    await ledger.append({ a: 4 });
    expect(seen).toEqual([0, 1, 2]);
  });

  it('a subscriber that throws or rejects reaches onSubscriberError, never the process', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (r: unknown) => unhandled.push(r);
    process.on('unhandledRejection', onUnhandled);
    try {
      const errors: [string, number][] = [];
      const ledger = new Ledger({
        onSubscriberError: (err, entry) => errors.push([(err as Error).message, entry.index]),
      });
      ledger.subscribe(async () => {
        throw new Error('async');
      });
      ledger.subscribe(() => {
        throw new Error('sync');
      });
      const e = await ledger.append({ a: 1 });
      await new Promise((r) => setTimeout(r, 20));
      expect(e.index).toBe(0);
      expect(errors.sort()).toEqual([
        ['async', 0],
        ['sync', 0],
      ]);
      // Without a handler the errors are dropped, still without an unhandled rejection.
      const quiet = new Ledger();
      quiet.subscribe(() => Promise.reject(new Error('nobody listens')));
      await quiet.append({ a: 1 });
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('refuses misspelt ledger and verify options instead of ignoring them', async () => {
    const backend = new InMemoryBackend();
    // `bakend` would silently keep everything in a throwaway in-memory store.
    expect(() => new Ledger({ bakend: backend } as never)).toThrow(ConfigurationError);
    expect(() => new Ledger({ bakend: backend } as never)).toThrow(/unknown ledger option "bakend"/);
    expect(() => new Ledger({ backend: {} as never })).toThrow(ConfigurationError);
    expect(() => new Ledger({ maxEntryBytes: -1 })).toThrow(/maxEntryBytes/);
    expect(() => new Ledger({ maxEntryBytes: '100' as never })).toThrow(ConfigurationError);
    const throwing = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('trap');
        },
      },
    );
    expect(() => new Ledger(throwing)).toThrow(ConfigurationError);
    const ledger = new Ledger({ backend });
    await ledger.append({ a: 1 });
    // `trustd` would verify without the trusted checkpoint the caller meant to check against.
    await expect(ledger.verify({ trustd: 'x' } as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(ledger.append({ a: 2 }, throwing)).rejects.toBeInstanceOf(ValidationError);
    // A top-level data value whose traps throw: typed, and nothing written (the count below).
    await expect(ledger.append(throwing)).rejects.toMatchObject({ name: 'ValidationError', path: '/data' });
    await expect(ledger.append({ a: 2 }, { metadata: throwing })).rejects.toMatchObject({
      name: 'ValidationError',
      path: '/metadata',
    });
    expect((await ledger.verify()).ok).toBe(true);
    expect((await ledger.getStats()).totalEntries).toBe(1);
  });

  it('caches recent entries up to maxEntriesMemory', async () => {
    const backend = new InMemoryBackend();
    const ledger = new Ledger({ backend, maxEntriesMemory: 2 });
    const es = [];
    for (let i = 0; i < 4; i++) es.push(await ledger.append({ i }));
    const spy = vi.spyOn(backend, 'getById');
    expect(await ledger.getEntry(es[3]!.id)).toBe(es[3]);
    expect(spy).not.toHaveBeenCalled();
    expect((await ledger.getEntry(es[0]!.id))?.hash).toBe(es[0]!.hash);
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('keeps exactly the last maxEntriesMemory entries over many evictions, batches included', async () => {
    const backend = new InMemoryBackend();
    const ledger = new Ledger({ backend, maxEntriesMemory: 5 });
    const es = [...(await ledger.appendBatch(Array.from({ length: 7 }, (_, i) => ({ i }))))];
    for (let i = 7; i < 23; i++) es.push(await ledger.append({ i }));
    const spy = vi.spyOn(backend, 'getById');
    for (const e of es.slice(-5)) expect(await ledger.getEntry(e.id)).toBe(e);
    expect(spy).not.toHaveBeenCalled();
    for (const e of es.slice(0, -5)) expect((await ledger.getEntry(e.id))?.index).toBe(e.index);
    expect(spy).toHaveBeenCalledTimes(es.length - 5);
  });
});

describe('signatures through the ledger', () => {
  it("keeps the seed's form: sign: true, signer: rsa.sign, then rsa.verify(entry.hash, entry.signature)", async () => {
    const ledger = new Ledger({ enableSignatures: true, signer: rsa });
    const entry = await ledger.append(
      { transaction_id: 'TXN123456', amount: 15000.0, currency: 'USD' },
      { metadata: { compliance: 'SOX', category: 'wire_transfer' }, sign: true, signer: rsa.sign },
    );
    expect(entry.signature).toBeTruthy();
    // As the issue writes it, no `!`: the signature is `string | null`, and null verifies false.
    expect(rsa.verify(entry.hash, entry.signature)).toBe(true);
    const unsigned = await new Ledger().append({ a: 1 });
    expect(rsa.verify(unsigned.hash, unsigned.signature)).toBe(false);
    expect(entry.signatures[0]).toMatchObject({ algorithm: 'rsa-pss-sha256', keyId: rsa.keyId });
    expect(await ledger.verifyIntegrity({ keys: new KeyRing([rsa]), requireSignatures: 1 })).toBe(true);
  });

  it('refuses a plain function as signer and sign: true without a signer', async () => {
    const ledger = new Ledger();
    await expect(ledger.append({ a: 1 }, { signer: (async () => 'x') as never })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(ledger.append({ a: 1 }, { sign: true })).rejects.toBeInstanceOf(ConfigurationError);
    const strict = new Ledger({ enableSignatures: true });
    await expect(strict.append({ a: 1 })).rejects.toBeInstanceOf(ConfigurationError);
    expect((await ledger.getStats()).totalEntries).toBe(0);
  });

  it('rotates keys without a flag day: old entries keep verifying under the old key', async () => {
    const oldKey = new Ed25519Signer();
    const newKey = new ECDSASigner({ curve: 'P-256' });
    const ledger = new Ledger({ signer: oldKey });
    for (let i = 0; i < 3; i++) await ledger.append({ i });
    for (let i = 3; i < 6; i++) await ledger.append({ i }, { signer: newKey });
    const ring = new KeyRing();
    ring.add(oldKey, { validUntil: { index: 3 } });
    ring.add(newKey, { validFrom: { index: 3 } });
    expect(await ledger.verifyIntegrity({ keys: ring, requireSignatures: 1 })).toBe(true);
    // The old key used after its window is reported with the entry's index.
    await ledger.append({ i: 6 }, { signer: oldKey });
    const report = await ledger.verify({ keys: ring });
    expect(report.failure).toMatchObject({ kind: 'key_outside_window', index: 6 });
  });

  it('reports a revoked key and a disallowed algorithm by their own kinds, at the entry', async () => {
    const ed = new Ed25519Signer();
    const rsa = new RSASigner({ keySize: 2048 });
    const ledger = new Ledger();
    for (let i = 0; i < 4; i++) await ledger.append({ i }, { signer: ed });
    await ledger.append({ i: 4 }, { signer: rsa });
    const ring = new KeyRing();
    ring.add(ed, { revokedAt: { index: 2 } });
    ring.add(rsa.publicKey, { algorithms: ['rsa-pkcs1v15-sha256'] }); // rsa signs PSS
    expect(await ledger.verify({ keys: ring })).toMatchObject({
      ok: false,
      failure: { kind: 'key_revoked', index: 2 },
    });
    const edOnly = new KeyRing();
    edOnly.add(ed);
    edOnly.add(rsa.publicKey, { algorithms: ['rsa-pkcs1v15-sha256'] });
    expect((await ledger.verify({ keys: edOnly })).failure).toMatchObject({
      kind: 'algorithm_mismatch',
      index: 4,
    });
  });

  it('verify() without keys trusts both paddings of one RSA key its signers used', async () => {
    const pss = new RSASigner({ keySize: 2048 });
    const pkcs1 = RSASigner.fromPem(pss.exportPrivateKeyPem(), { padding: 'pkcs1' });
    expect(pkcs1.keyId).toBe(pss.keyId);
    const ledger = new Ledger({ signer: pss });
    await ledger.append({ a: 1 });
    await ledger.append({ a: 2 }, { signer: pkcs1 });
    expect(await ledger.verify()).toMatchObject({ ok: true, signaturesChecked: 2 });
    // Still only the algorithms actually used: an Ed25519 record under that key id would not pass.
    expect(await ledger.verify({ requireSignatures: 1 })).toMatchObject({ ok: true });
  });

  it('enableSignatures makes verify() require a signature per event by default', async () => {
    const ed = new Ed25519Signer();
    const backend = new InMemoryBackend();
    const strict = new Ledger({ backend, enableSignatures: true, signer: ed });
    await strict.append({ signed: true });
    expect((await strict.verify()).ok).toBe(true);
    // Another writer on the same store appends without signing: the strict ledger's verify sees it.
    const loose = new Ledger({ backend });
    await loose.append({ signed: false });
    expect((await strict.verify()).failure).toMatchObject({ kind: 'signature_missing', index: 1 });
    // An explicit requirement still wins.
    expect((await strict.verify({ requireSignatures: 0 })).ok).toBe(true);
    const explicit = new Ledger({ backend, enableSignatures: true, signer: ed, requireSignatures: 0 });
    expect((await explicit.verify()).ok).toBe(true);
  });

  it('signs one append with several keys (signers: a list or a MultiSigner) for k-of-n', async () => {
    const a = new Ed25519Signer();
    const b = new ECDSASigner({ curve: 'P-256' });
    const c = new Ed25519Signer();
    const ledger = new Ledger({ signer: a });
    const one = await ledger.append({ n: 1 });
    const two = await ledger.append({ n: 2 }, { signers: new MultiSigner([a, b]) });
    const three = await ledger.append({ n: 3 }, { signer: c, signers: [a.sign, b] });
    expect([one, two, three].map((e) => e.signatures.map((r) => r.keyId))).toEqual([
      [a.keyId],
      [a.keyId, b.keyId],
      [c.keyId, a.keyId, b.keyId],
    ]);
    const ring = new KeyRing([a, b, c]);
    expect((await ledger.verify({ keys: ring, requireSignatures: 2 })).failure).toMatchObject({
      kind: 'signature_missing',
      index: 0,
    });
    expect(await ledger.verify({ keys: ring, requireSignatures: 1 })).toMatchObject({
      ok: true,
      signaturesChecked: 6,
    });
    // One key twice in one append: refused, nothing stored.
    await expect(ledger.append({ n: 4 }, { signer: a, signers: [a] })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(ledger.append({ n: 4 }, { signers: 'x' as never })).rejects.toBeInstanceOf(ValidationError);
    expect((await ledger.getStats()).totalEntries).toBe(3);
    // The ledger option takes a MultiSigner too.
    const both = new Ledger({ signers: new MultiSigner([a, b]), requireSignatures: 2 });
    await both.append({ n: 1 });
    expect(await both.verify()).toMatchObject({ ok: true, signaturesChecked: 2 });
  });

  it('refuses the same signer key twice in signer/signers', () => {
    const ed = new Ed25519Signer();
    expect(() => new Ledger({ signers: [ed, ed], requireSignatures: 2 })).toThrow(ConfigurationError);
    expect(() => new Ledger({ signer: ed, signers: [ed.sign] })).toThrow(/given twice/);
  });

  it('reports a missing signature where signing is required', async () => {
    const ed = new Ed25519Signer();
    const ledger = new Ledger();
    await ledger.append({ signed: true }, { signer: ed });
    await ledger.append({ signed: false });
    const report = await ledger.verify({ keys: new KeyRing([ed]), requireSignatures: 1 });
    expect(report.failure).toMatchObject({ kind: 'signature_missing', index: 1 });
  });

  it('rejects only the entry whose remote signer fails; the rest of its group commits', async () => {
    const good = new Ed25519Signer();
    const kmsDown = new RemoteSigner({
      algorithm: 'ed25519',
      publicKey: good.publicKey,
      sign: async () => {
        throw new Error('KMS unavailable');
      },
    });
    const ledger = new Ledger();
    const results = await Promise.allSettled([
      ledger.append({ a: 1 }, { signer: good }),
      ledger.append({ a: 2 }, { signer: kmsDown }),
      ledger.append({ a: 3 }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const reason = (results[1] as PromiseRejectedResult).reason as Error;
    expect(reason.message).toMatch(/remote signing/);
    expect(String((reason.cause as Error)?.message)).toMatch(/KMS unavailable/);
    const stored = await ledger.getEntries();
    expect(stored.map((e) => e.data)).toEqual([{ a: 1 }, { a: 3 }]);
    expect(await ledger.verifyIntegrity()).toBe(true);
  });
});

describe('autoVerify', () => {
  it('verifies new entries in the background, incrementally, and reports tampering', async () => {
    // Fake intervals: each tick is driven here, and the background run itself is observed.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const backend = new InMemoryBackend();
      const onIntegrityError = vi.fn();
      const ledger = new Ledger({ backend, autoVerify: { intervalMs: 20 }, onIntegrityError });
      for (let i = 0; i < 5; i++) await ledger.append({ i });
      const runs = vi.spyOn(ledger, 'verify');
      await vi.advanceTimersByTimeAsync(20);
      expect(runs).toHaveBeenCalledTimes(1);
      expect(runs.mock.calls[0]![0]).toEqual({ incremental: true });
      expect(await runs.mock.results[0]!.value).toMatchObject({ ok: true, fromIndex: 0, entriesChecked: 5 });

      // Tamper with a new entry behind the ledger's back: the next tick checks only that one.
      await ledger.append({ i: 5 });
      const rows = backend._unsafeRows();
      rows[5]!.body = rows[5]!.body.replace('"metadata":{}', '"metadata":{"x":1}');
      await vi.advanceTimersByTimeAsync(20);
      expect(runs).toHaveBeenCalledTimes(2);
      expect(await runs.mock.results[1]!.value).toMatchObject({
        ok: false,
        fromIndex: 5,
        failure: { index: 5 },
      });
      await new Promise((r) => setImmediate(r)); // the tick reports after its run settles
      expect(onIntegrityError).toHaveBeenCalledTimes(1);
      const err = onIntegrityError.mock.calls[0]![0] as IntegrityError;
      expect(err).toBeInstanceOf(IntegrityError);
      expect(err.index).toBe(5);
      expect(ledger.lastAutoVerifyError?.kind).toBe('hash_mismatch');
      await ledger.close();
      await vi.advanceTimersByTimeAsync(100);
      expect(runs).toHaveBeenCalledTimes(2); // closing stops the timer
    } finally {
      vi.useRealTimers();
    }
  });

  it('incremental runs only re-hash what is new', async () => {
    const ledger = new Ledger();
    for (let i = 0; i < 10; i++) await ledger.append({ i });
    expect((await ledger.verify()).entriesChecked).toBe(10);
    for (let i = 0; i < 3; i++) await ledger.append({ i });
    const r = await ledger.verify({ incremental: true });
    expect(r.ok).toBe(true);
    expect(r.entriesChecked).toBe(3);
    expect(r.fromIndex).toBe(10);
  });

  it('its timer does not keep the process alive', () => {
    const ledger = new Ledger({ autoVerify: true });
    const timer = (ledger as unknown as { autoTimer: NodeJS.Timeout }).autoTimer;
    expect(timer.hasRef()).toBe(false);
    void ledger.close();
  });
});

describe('commitment', () => {
  it('commits to the ledger id: an entry copied into another ledger fails there', async () => {
    const a = new Ledger();
    const b = new Ledger({ backend: new InMemoryBackend() });
    await a.append({ x: 1 });
    await b.append({ x: 1 });
    const rowsA = (a.backend as InMemoryBackend)._unsafeRows();
    const rowsB = (b.backend as InMemoryBackend)._unsafeRows();
    rowsB[0] = { ...rowsA[0]! };
    const r = await b.verify();
    expect(r.failure?.kind).toBe('ledger_mismatch');
    expect(r.failure?.index).toBe(0);
  });
});

describe('grouping', () => {
  it('an appendBatch is one unit even when larger than maxBatchSize and mixed with concurrent appends', async () => {
    const backend = new InMemoryBackend();
    const ledger = new Ledger({ backend, maxBatchSize: 4 });
    const spy = vi.spyOn(backend, 'append');
    const singles = Array.from({ length: 6 }, (_, i) => ledger.append({ single: i }));
    const batch = ledger.appendBatch(Array.from({ length: 10 }, (_, i) => ({ batch: i })));
    const [b] = await Promise.all([batch, ...singles]);
    const idx = (b as Entry[]).map((e) => e.index);
    expect(idx).toEqual(Array.from({ length: 10 }, (_, i) => idx[0]! + i));
    expect((await ledger.getStats()).totalEntries).toBe(16);
    // Singles were grouped (at most 4 per transaction), the batch went in whole.
    expect(spy.mock.calls.length).toBeGreaterThanOrEqual(3);
    expect(await ledger.verifyIntegrity()).toBe(true);
  });

  it('several signers give every entry several signatures; k of n counts distinct keys', async () => {
    const a = new Ed25519Signer();
    const b = new ECDSASigner({ curve: 'P-384' });
    const ledger = new Ledger({ signers: [a, b] });
    const e = await ledger.append({ dual: true });
    expect(e.signatures.map((s) => s.keyId)).toEqual([a.keyId, b.keyId]);
    expect(await ledger.verifyIntegrity({ keys: new KeyRing([a, b]), requireSignatures: 2 })).toBe(true);
    const r = await ledger.verify({ keys: new KeyRing([a, b]), requireSignatures: 3 });
    expect(r.failure).toMatchObject({ kind: 'signature_missing', index: 0 });
  });
});

describe('backend objects', () => {
  it('one backend object serves one ledger name', async () => {
    const backend = new InMemoryBackend();
    await new Ledger({ backend, name: 'orders' }).open();
    await expect(new Ledger({ backend, name: 'payments' }).open()).rejects.toBeInstanceOf(ConfigurationError);
    // A second Ledger object on the same ledger is fine.
    expect((await new Ledger({ backend, name: 'orders' }).open()).name).toBe('orders');
  });

  it('ledger objects sharing a backend object: the last to close closes it', async () => {
    const backend = new InMemoryBackend();
    const a = new Ledger({ backend });
    const b = new Ledger({ backend });
    await a.append({ from: 'a' });
    await b.append({ from: 'b' });
    await a.close();
    await expect(a.append({ late: true })).rejects.toBeInstanceOf(ClosedError);
    // `b` still works on the shared backend.
    await b.append({ from: 'b', again: true });
    expect((await b.getStats()).totalEntries).toBe(3);
    expect((await b.verify()).ok).toBe(true);
    // A ledger object that never opened closes nothing.
    await new Ledger({ backend }).close();
    expect((await b.getStats()).totalEntries).toBe(3);
    await b.close();
    await expect(backend.readHead()).rejects.toThrow();
  });
});
