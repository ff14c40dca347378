import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  ConfigurationError,
  NoteError,
  ProofError,
  ValidationError,
} from '../../src/errors.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { generateLogKey } from '../../src/ledger/log-key.js';
import { openCheckpoint } from '../../src/note/checkpoint.js';
import { cosignCheckpoint, generateWitnessKey } from '../../src/note/cosignature.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { verifyConsistency, verifyInclusion } from '../../src/verify/proofs.js';

describe('checkpoints', () => {
  it('are C2SP checkpoints that the note layer opens with the vkey alone', async () => {
    const logKey = generateLogKey('audit.example.com/payments');
    const ledger = new Ledger({ logKey });
    await ledger.append({ a: 1 });
    const cp = await ledger.checkpoint();
    const opened = openCheckpoint(cp.text, {
      origin: 'audit.example.com/payments',
      verifiers: [parseVerifierKey(logKey.verifierKey)],
    });
    expect(opened.size).toBe(1);
    expect(opened.rootHash.toString('hex')).toBe(cp.rootHash);
    expect(logKey.verifierKey).toMatch(/^audit\.example\.com\/payments\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$/);
    // Signing twice at the same size returns the same checkpoint (no second signature for one tree).
    expect((await ledger.checkpoint()).text).toBe(cp.text);
  });

  it('a checkpoint of the empty log does not block later ones (every tree extends the empty tree)', async () => {
    const logKey = generateLogKey('log.example/empty-first');
    const ledger = new Ledger({ logKey });
    const empty = await ledger.checkpoint();
    expect(empty.size).toBe(0);
    expect(empty.rootHash).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    await ledger.append({ a: 1 });
    const one = await ledger.checkpoint();
    expect(one.size).toBe(1);
    await ledger.append({ a: 2 });
    const two = await ledger.checkpoint();
    expect(two.size).toBe(2);
    // Proofs and verification still work; a trusted empty checkpoint is checked as a root at size 0.
    expect(verifyConsistency(one, two, await ledger.proveConsistency(one, two), logKey.verifierKey)).toBe(
      true,
    );
    const entry = (await ledger.getEntryAt(1))!;
    expect(verifyInclusion(entry, await ledger.proveInclusion(entry.id, two), two, logKey.verifierKey)).toBe(
      true,
    );
    expect((await ledger.verify({ trusted: empty.text })).ok).toBe(true);
    expect((await ledger.verify({ trusted: two.text })).ok).toBe(true);
    // A stored "empty" checkpoint whose root is not the empty tree's is refused, not extended.
    const forged = new Ledger({ logKey });
    const backend = forged.backend;
    await forged.open();
    await backend.addCheckpoint({ size: 0, rootHash: Buffer.alloc(32, 7), note: empty.text, createdAtMs: 0 });
    await forged.append({ b: 1 });
    await expect(forged.checkpoint()).rejects.toThrow(/does not match its signed note/);
  });

  it('proofs against a checkpoint of another history say so instead of returning proofs that cannot verify', async () => {
    const logKey = generateLogKey('log.example/forks');
    const a = new Ledger({ logKey });
    for (let i = 0; i < 5; i++) await a.append({ i });
    const cpA = await a.checkpoint();
    // Same key and origin, other entries: a fork (or this log rolled back and rewritten).
    const b = new Ledger({ logKey });
    for (let i = 0; i < 3; i++) await b.append({ i, other: true });
    await expect(b.proveInclusion(1, cpA)).rejects.toMatchObject({
      name: 'IntegrityError',
      kind: 'truncated',
    });
    for (let i = 3; i < 6; i++) await b.append({ i, other: true });
    await expect(b.proveInclusion(1, cpA)).rejects.toMatchObject({
      name: 'IntegrityError',
      kind: 'inconsistent_checkpoint',
      index: 4,
    });
    await expect(b.proveConsistency(cpA)).rejects.toMatchObject({ kind: 'inconsistent_checkpoint' });
    // Its own checkpoints still prove.
    const own = await b.checkpoint();
    expect(
      verifyInclusion((await b.getEntryAt(1))!, await b.proveInclusion(1, own), own, logKey.verifierKey),
    ).toBe(true);
  });

  it('proveConsistency refuses the empty tree as the old one (RFC 9162 defines no such proof)', async () => {
    const logKey = generateLogKey('log.example/empty-consistency');
    const ledger = new Ledger({ logKey });
    const cp0 = await ledger.checkpoint();
    await expect(ledger.proveConsistency(cp0, cp0)).rejects.toBeInstanceOf(ValidationError);
    await ledger.append({ a: 1 });
    const cp1 = await ledger.checkpoint();
    await expect(ledger.proveConsistency(cp0, cp1)).rejects.toBeInstanceOf(ValidationError);
    expect(verifyConsistency(cp1, cp1, await ledger.proveConsistency(cp1, cp1), logKey.verifierKey)).toBe(
      true,
    );
  });

  it('verifyInclusion takes a JSON copy of an entry dated outside years 0000-9999 (expanded-year text)', async () => {
    for (const ms of [Date.UTC(10_000, 0, 1, 0, 0, 0, 5), Date.UTC(-1, 6, 1)]) {
      const logKey = generateLogKey('log.example/far-years');
      const ledger = new Ledger({ logKey, now: () => ms });
      const entry = await ledger.append({ year: new Date(ms).getUTCFullYear() });
      const cp = await ledger.checkpoint();
      const proof = await ledger.proveInclusion(entry.id, cp);
      const copy = JSON.parse(JSON.stringify(entry));
      expect(copy.timestamp).toMatch(/^[+-]\d{6}-/);
      expect(verifyInclusion(copy, proof, cp, logKey.verifierKey)).toBe(true);
      expect(verifyInclusion(entry, proof, cp, logKey.verifierKey)).toBe(true);
      expect((await ledger.verify()).ok).toBe(true);
      // The same instant in another spelling is not the committed text.
      expect(() =>
        verifyInclusion(
          { ...copy, timestamp: copy.timestamp.replace(/^([+-])0/, '$1') },
          proof,
          cp,
          logKey.verifierKey,
        ),
      ).toThrow(ProofError);
    }
  });

  it('verifyInclusion takes a JSON copy of an entry and fails closed, typed, on any malformed one', async () => {
    const logKey = generateLogKey('log.example/json-entry');
    const ledger = new Ledger({ logKey });
    await ledger.append({ a: 1 }, { metadata: { m: 1 } });
    const entry = await ledger.append({ b: [1, 2] });
    const cp = await ledger.checkpoint();
    const proof = await ledger.proveInclusion(entry.id, cp);
    // What an auditor receives over the wire: the entry as JSON (timestamp as ISO text).
    const copy = JSON.parse(JSON.stringify(entry));
    expect(typeof copy.timestamp).toBe('string');
    expect(verifyInclusion(copy, proof, cp, logKey.verifierKey)).toBe(true);
    const bad: Record<string, unknown>[] = [
      { ...copy, timestamp: copy.timestamp.replace('Z', '+00:00') },
      { ...copy, timestamp: 'yesterday' },
      { ...copy, timestamp: 5 },
      { ...copy, metadata: 5 },
      { ...copy, id: 7 },
      { ...copy, data: { b: [1, 3] } },
      { ...copy, salt: 'zz' },
      { ...copy, signatures: 'x' },
      { ...copy, previousHash: {} },
      { ...copy, type: null },
      { ...copy, ledgerId: undefined },
    ];
    for (const b of bad) {
      const err = (() => {
        try {
          verifyInclusion(b as never, proof, cp, logKey.verifierKey);
        } catch (e) {
          return e;
        }
      })();
      expect(err, JSON.stringify(b).slice(0, 80)).toBeInstanceOf(ProofError);
    }
    expect(() => verifyInclusion(null as never, proof, cp, logKey.verifierKey)).toThrow(ProofError);
    // Quotes inside string fields cannot move text between members of the commitment and keep the hash.
    const m = await ledger.append({ y: 2 }, { metadata: { a: 's', metadata: { c: 2 }, prev: 'Q' } });
    const cp2 = await ledger.checkpoint();
    const mp = await ledger.proveInclusion(m.id, cp2);
    const mj = JSON.parse(JSON.stringify(m));
    expect(verifyInclusion(mj, mp, cp2, logKey.verifierKey)).toBe(true);
    const forged = {
      ...mj,
      ledgerId: `${mj.ledgerId}","metadata":{"a":"s`,
      metadata: { c: 2 },
      previousHash: `Q"},"prev":"${mj.previousHash}`,
    };
    expect(() => verifyInclusion(forged, mp, cp2, logKey.verifierKey)).toThrow(/does not match its content/);
    // Metadata as deep as the writer allows (64 levels) still verifies: it sits one level inside the commitment.
    let deep: Record<string, unknown> = { end: true };
    for (let i = 1; i < 64; i++) deep = { x: deep };
    const d = await ledger.append({ z: 1 }, { metadata: deep });
    const cp3 = await ledger.checkpoint();
    expect(
      verifyInclusion(
        JSON.parse(JSON.stringify(d)),
        await ledger.proveInclusion(d.id, cp3),
        cp3,
        logKey.verifierKey,
      ),
    ).toBe(true);
  });

  it('need a signing key; a verify-only ledger can still check trusted checkpoints', async () => {
    const logKey = generateLogKey('log.example/a');
    const writer = new Ledger({ logKey });
    await writer.append({ a: 1 });
    const cp = await writer.checkpoint();
    await expect(new Ledger().checkpoint()).rejects.toBeInstanceOf(ConfigurationError);
    const verifyOnly = new Ledger({ backend: writer.backend, logKey: logKey.verifierKey });
    await expect(verifyOnly.checkpoint()).rejects.toBeInstanceOf(ConfigurationError);
    expect((await verifyOnly.verify({ trusted: cp.text })).assurance).toBe('trusted');
  });

  it('a checkpoint signed by another key is not trusted', async () => {
    const logKey = generateLogKey('log.example/b');
    const impostor = generateLogKey('log.example/b');
    const ledger = new Ledger({ logKey });
    await ledger.append({ a: 1 });
    const forged = await new Ledger({ logKey: impostor }).append({ a: 1 }).then(async () => {
      const l = new Ledger({ logKey: impostor });
      await l.append({ a: 1 });
      return l.checkpoint();
    });
    const report = await ledger.verify({ trusted: forged.text });
    expect(report.ok).toBe(false);
    expect(report.failure?.kind).toBe('checkpoint_invalid');
  });

  it('witness cosignatures: k of n distinct known witnesses are required', async () => {
    const logKey = generateLogKey('log.example/w');
    const w1 = generateWitnessKey('witness.one/w');
    const w2 = generateWitnessKey('witness.two/w');
    const w3 = generateWitnessKey('witness.three/w');
    const ledger = new Ledger({
      logKey,
      witnesses: [w1.verifier, w2.verifier, w3.verifier],
      witnessQuorum: 2,
    });
    await ledger.append({ a: 1 });
    const cp = await ledger.checkpoint();
    const once = cosignCheckpoint(cp.text, w1.signer);
    const bad = await ledger.verify({ trusted: once });
    expect(bad.ok).toBe(false);
    expect(bad.failure?.kind).toBe('witness_quorum');
    const twice = cosignCheckpoint(once, w2.signer);
    const good = await ledger.verify({ trusted: twice });
    expect(good.ok).toBe(true);
    expect(good.assurance).toBe('witnessed');
    // The same witness twice counts once.
    const dup = cosignCheckpoint(cosignCheckpoint(cp.text, w1.signer, 1), w1.signer, 2);
    expect((await ledger.verify({ trusted: dup })).failure?.kind).toBe('witness_quorum');
  });
});

describe('offline proof verification fails closed', () => {
  async function setup() {
    const logKey = generateLogKey('log.example/p');
    const ledger = new Ledger({ logKey });
    const entries = [];
    for (let i = 0; i < 9; i++) entries.push(await ledger.append({ i }));
    const cp = await ledger.checkpoint();
    return { logKey, ledger, entries, cp };
  }

  it('rejects malformed, mismatched and forged inputs with typed errors', async () => {
    const { logKey, ledger, entries, cp } = await setup();
    const p = await ledger.proveInclusion(4, cp);
    expect(verifyInclusion(entries[4]!, p, cp, logKey.verifierKey)).toBe(true);
    const bad = [
      { ...p, path: [...p.path, p.path[0]!] },
      { ...p, path: p.path.slice(1) },
      { ...p, path: ['zz', ...p.path.slice(1)] },
      { ...p, path: [p.path[0]!.slice(2), ...p.path.slice(1)] },
      { ...p, size: 8 },
      { ...p, index: 5 },
      { ...p, hashAlgorithm: 'md5' as never },
    ];
    for (const b of bad) expect(() => verifyInclusion(entries[4]!, b, cp, logKey.verifierKey)).toThrow();
    expect(() => verifyInclusion({ ...entries[4]!, data: { i: 99 } }, p, cp, logKey.verifierKey)).toThrow(
      ProofError,
    );
    // The `redacted` flag or a stray `signature` cannot smuggle content past the check.
    const forged = [
      { ...entries[4]!, data: { i: 99 }, redacted: true },
      { ...entries[4]!, redacted: true },
      { ...entries[4]!, data: null, salt: null, redacted: false },
      { ...entries[4]!, salt: null },
      { ...entries[4]!, redacted: 'no' as never },
      { ...entries[4]!, signature: 'c2lnbmF0dXJl' },
    ];
    for (const f of forged)
      expect(() => verifyInclusion(f as never, p, cp, logKey.verifierKey)).toThrow(ProofError);
    // A really redacted entry (no data, no salt) still proves its inclusion from its digest.
    await ledger.redact(entries[4]!.id, { reason: 'test' });
    const redacted = (await ledger.getEntry(entries[4]!.id))!;
    expect(redacted).toMatchObject({ redacted: true, data: null, salt: null });
    expect(verifyInclusion(redacted, p, cp, logKey.verifierKey)).toBe(true);
    expect(() => verifyInclusion({ ...redacted, redacted: false }, p, cp, logKey.verifierKey)).toThrow(
      ProofError,
    );
    expect(() => verifyInclusion(entries[4]!, p, cp, generateLogKey('log.example/p').verifierKey)).toThrow(
      NoteError,
    );
    expect(() => verifyInclusion(entries[4]!, p, { ...cp, size: 10 }, logKey.verifierKey)).toThrow(
      ProofError,
    );
    expect(() => verifyInclusion(entries[4]!, null as never, cp, logKey.verifierKey)).toThrow(ProofError);
    await expect(ledger.proveInclusion(9, cp)).rejects.toBeInstanceOf(CheckpointError);
    await expect(ledger.proveInclusion(-1)).rejects.toBeInstanceOf(ValidationError);
  });

  it('consistency proofs: valid ones verify, altered ones never do (property)', async () => {
    const logKey = generateLogKey('log.example/c');
    const ledger = new Ledger({ logKey });
    const cps: Awaited<ReturnType<Ledger['checkpoint']>>[] = [];
    for (let round = 0; round < 6; round++) {
      await ledger.appendBatch(Array.from({ length: 1 + round * 7 }, (_, i) => ({ round, i })));
      cps.push(await ledger.checkpoint());
    }
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 5 }),
        fc.nat(),
        fc.nat(255),
        async (a, b, which, bit) => {
          const [lo, hi] = a <= b ? [cps[a]!, cps[b]!] : [cps[b]!, cps[a]!];
          const proof = await ledger.proveConsistency(lo, hi);
          expect(verifyConsistency(lo, hi, proof, logKey.verifierKey)).toBe(true);
          if (proof.path.length === 0) return;
          const k = which % proof.path.length;
          const bytes = Buffer.from(proof.path[k]!, 'hex');
          bytes[bit % 32]! ^= 1 << (bit % 8);
          const altered = { ...proof, path: proof.path.map((h, i) => (i === k ? bytes.toString('hex') : h)) };
          expect(() => verifyConsistency(lo, hi, altered, logKey.verifierKey)).toThrow();
        },
      ),
      { numRuns: 60 },
    );
  });
});
