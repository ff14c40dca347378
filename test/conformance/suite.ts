/**
 * The storage conformance suite: run unchanged against every backend. Each backend's test file calls
 * `describeConformance(factory)`. Tamper cases edit rows behind the library's back via the factory's
 * `Tamper`, as someone with database access would.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { digest } from '../../src/crypto/hash.js';
import { Ed25519Signer, KeyRing } from '../../src/crypto/signatures/index.js';
import { leafText } from '../../src/entry/commitment.js';
import type { Entry } from '../../src/entry/types.js';
import { IntegrityError, ValidationError } from '../../src/errors.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { generateLogKey } from '../../src/ledger/log-key.js';
import { encodeFrontier, frontierAppend, frontierRoot } from '../../src/merkle/frontier.js';
import { leafHash } from '../../src/merkle/hash.js';
import { tilesForTree } from '../../src/merkle/tiles.js';
import type { StorageBackend } from '../../src/storage/backend.js';
import { verifyConsistency, verifyInclusion } from '../../src/verify/proofs.js';
import type { BackendFactory, BackendUnderTest } from './harness.js';

export function describeConformance(factory: BackendFactory): void {
  const title = `conformance: ${factory.name}`;
  if (!factory.available) {
    describe.skip(`${title} — SKIPPED: ${factory.skipReason ?? 'not available'}`, () => {
      it('is skipped', () => {});
    });
    // Say it plainly in the test output, not only in a skipped title.
    console.warn(`[signledger] ${title} SKIPPED: ${factory.skipReason ?? 'not available'}`);
    return;
  }

  const keys: string[] = [];
  const opened: Ledger[] = [];
  async function fresh(opts: Partial<ConstructorParameters<typeof Ledger>[0]> = {}): Promise<{
    ledger: Ledger;
    store: BackendUnderTest;
    key: string;
  }> {
    const key = `c${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    keys.push(key);
    const store = await factory.open(key);
    const ledger = new Ledger({ backend: store.backend, ...opts });
    await ledger.open();
    opened.push(ledger);
    return { ledger, store, key };
  }

  afterAll(async () => {
    for (const l of opened) await l.close().catch(() => {});
    for (const k of keys) await factory.cleanup(k).catch(() => {});
  });

  async function appendN(
    ledger: Ledger,
    n: number,
    make: (i: number) => Record<string, unknown> = (i) => ({ i, user: i % 2 ? 'bob' : 'alice' }),
  ) {
    const out: Entry[] = [];
    for (let i = 0; i < n; i++) out.push(await ledger.append(make(i)));
    return out;
  }

  describe(title, () => {
    describe('append and read', () => {
      it('appends entries with contiguous indexes and a linked chain', async () => {
        const { ledger } = await fresh();
        const a = await ledger.append({
          action: 'user_login',
          user_id: 'user123',
          ip_address: '192.168.1.1',
        });
        const b = await ledger.append(
          { action: 'logout' },
          { metadata: { compliance: 'SOX', category: 'wire_transfer' } },
        );
        expect(a.index).toBe(0);
        expect(a.previousHash).toBeNull();
        expect(b.index).toBe(1);
        expect(b.previousHash).toBe(a.hash);
        expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
        expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
        expect(b.metadata).toEqual({ compliance: 'SOX', category: 'wire_transfer' });
        expect(a.timestamp.toISOString()).toMatch(/^\d{4}-\d\d-\d\dT/);
        expect(a.signature).toBeNull();
        const read = await ledger.getEntry(a.id);
        expect(read).toEqual(a);
        const again = await ledger.getEntryAt(1);
        expect(again?.hash).toBe(b.hash);
        expect(await ledger.getEntry(randomUUID())).toBeNull();
        expect(await ledger.verifyIntegrity()).toBe(true);
      });

      it('returns deeply frozen entries that share nothing with the caller', async () => {
        const { ledger } = await fresh();
        const input = { user: 'alice', nested: { roles: ['admin'] } };
        const e = await ledger.append(input);
        input.nested.roles.push('root');
        input.user = 'mallory';
        expect(e.data).toEqual({ user: 'alice', nested: { roles: ['admin'] } });
        expect(Object.isFrozen(e)).toBe(true);
        expect(Object.isFrozen(e.data)).toBe(true);
        expect(Object.isFrozen((e.data as { nested: { roles: string[] } }).nested.roles)).toBe(true);
        expect(() => (e.timestamp as Date).setTime(0)).toThrow(TypeError);
        const stored = await ledger.getEntryAt(0);
        expect(stored?.data).toEqual({ user: 'alice', nested: { roles: ['admin'] } });
        expect(Object.isFrozen(stored?.data)).toBe(true);
      });

      it('pages by offset and limit, newest first, and by time range', async () => {
        let t = Date.parse('2026-01-01T00:00:00.000Z');
        const { ledger } = await fresh({ now: () => (t += 1000) });
        await appendN(ledger, 30);
        const page = await ledger.getEntries({ offset: 10, limit: 5 });
        expect(page.map((e) => e.index)).toEqual([10, 11, 12, 13, 14]);
        const first = await ledger.getEntries({ limit: 3 });
        expect(first.map((e) => e.index)).toEqual([0, 1, 2]);
        const desc = await ledger.getEntries({ limit: 3, order: 'desc' });
        expect(desc.map((e) => e.index)).toEqual([29, 28, 27]);
        // Offsets without a time range, both orders, up to and past the end.
        expect(
          (await ledger.getEntries({ offset: 10, limit: 3, order: 'desc' })).map((e) => e.index),
        ).toEqual([19, 18, 17]);
        expect((await ledger.getEntries({ offset: 28 })).map((e) => e.index)).toEqual([28, 29]);
        expect((await ledger.getEntries({ offset: 28, order: 'desc' })).map((e) => e.index)).toEqual([1, 0]);
        expect(await ledger.getEntries({ offset: 30 })).toEqual([]);
        expect(await ledger.getEntries({ offset: 31, order: 'desc' })).toEqual([]);
        expect((await ledger.tail(2)).map((e) => e.index)).toEqual([28, 29]);
        const startTime = new Date(Date.parse('2026-01-01T00:00:05.000Z'));
        const endTime = new Date(Date.parse('2026-01-01T00:00:09.000Z'));
        const ranged = await ledger.getEntries({ startTime, endTime });
        expect(ranged.map((e) => e.index)).toEqual([4, 5, 6, 7, 8]);
        const rangedPage = await ledger.getEntries({ startTime, endTime, offset: 1, limit: 2 });
        expect(rangedPage.map((e) => e.index)).toEqual([5, 6]);
        await expect(ledger.getEntries({ limit: -1 })).rejects.toBeInstanceOf(ValidationError);
      });

      it('streams every entry in order', async () => {
        const { ledger } = await fresh();
        await appendN(ledger, 25);
        const seen: number[] = [];
        for await (const e of ledger.entries({ chunkSize: 7 })) seen.push(e.index);
        expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i));
      });

      it('answers predicate and structured queries alike', async () => {
        const { ledger } = await fresh();
        await appendN(ledger, 20, (i) => ({ i, user: i % 3 === 0 ? 'alice' : 'bob', ok: i % 2 === 0 }));
        await ledger.append({ user: 'alice', note: 'meta' }, { metadata: { category: 'wire' } });
        const viaPredicate = await ledger.query((e) => e.data?.user === 'alice');
        const viaWhere = await ledger.query({ where: { 'data.user': 'alice' } });
        expect(viaWhere.map((e) => e.index)).toEqual(viaPredicate.map((e) => e.index));
        expect(viaWhere.length).toBe(8);
        expect(
          (await ledger.query({ where: { 'data.user': 'alice' }, limit: 2 })).map((e) => e.index),
        ).toEqual([0, 3]);
        expect((await ledger.query({ where: { 'data.i': 4 } })).map((e) => e.index)).toEqual([4]);
        expect(
          (await ledger.query({ where: { 'data.ok': true, 'data.user': 'alice' } })).map((e) => e.index),
        ).toEqual([0, 6, 12, 18]);
        expect((await ledger.query({ where: { 'metadata.category': 'wire' } })).map((e) => e.index)).toEqual([
          20,
        ]);
        expect(await ledger.query({ where: { 'data.i': '4' } })).toEqual([]);
        await expect(ledger.query({ where: { "data.user') OR 1=1 --": 'x' } })).rejects.toBeInstanceOf(
          ValidationError,
        );
        await expect(ledger.query({ where: { 'secrets.x': 1 } })).rejects.toBeInstanceOf(ValidationError);
      });

      it('reports stats', async () => {
        const { ledger } = await fresh();
        const empty = await ledger.getStats();
        expect(empty.totalEntries).toBe(0);
        expect(empty.firstEntryTime).toBeNull();
        await appendN(ledger, 5);
        const s = await ledger.getStats();
        expect(s.totalEntries).toBe(5);
        expect(s.hashAlgorithm).toBe('sha256');
        expect(s.totalSizeBytes).toBeGreaterThan(0);
        expect(s.firstEntryTime).toBeInstanceOf(Date);
        expect(s.lastEntryTime!.getTime()).toBeGreaterThanOrEqual(s.firstEntryTime!.getTime());
      });
    });

    describe('bad input writes nothing', () => {
      const bad: [string, unknown][] = [
        ['a non-object', 'hello'],
        ['an array', [1, 2]],
        ['an empty object', {}],
        ['NaN', { x: Number.NaN }],
        ['Infinity', { x: Number.POSITIVE_INFINITY }],
        ['BigInt', { x: 10n }],
        ['undefined', { x: undefined }],
        ['a function', { x: () => 1 }],
        ['a symbol', { x: Symbol('s') }],
        ['a class instance', { x: new Map() }],
        ['a lone surrogate', { x: '\ud800' }],
        ['an array with a named property', { x: Object.assign([1, 2], { note: 'dropped by JSON' }) }],
        [
          'a Proxy whose trap throws',
          {
            x: new Proxy(
              {},
              {
                ownKeys: () => {
                  throw new Error('trap');
                },
              },
            ),
          },
        ],
      ];
      it.each(bad)('refuses %s with ValidationError', async (_name, value) => {
        const { ledger } = await fresh();
        await expect(ledger.append(value as Record<string, unknown>)).rejects.toBeInstanceOf(ValidationError);
        expect((await ledger.getStats()).totalEntries).toBe(0);
      });

      it('refuses cycles and oversized payloads, and metadata that is not JSON', async () => {
        const { ledger } = await fresh({ maxEntryBytes: 1000 });
        const cyc: Record<string, unknown> = { a: 1 };
        cyc.self = cyc;
        await expect(ledger.append(cyc)).rejects.toThrow(/cycle/);
        const big = await ledger
          .append({ x: 'y' })
          .then(() => ledger.append({ x: 'y'.repeat(2000) }))
          .catch((e) => e);
        expect(big).toBeInstanceOf(ValidationError);
        expect((big as ValidationError).code).toBe('TOO_LARGE');
        await expect(ledger.append({ a: 1 }, { metadata: { m: Number.NaN } })).rejects.toBeInstanceOf(
          ValidationError,
        );
        await expect(ledger.append({ a: 1 }, { metdata: { m: 1 } } as never)).rejects.toBeInstanceOf(
          ValidationError,
        );
        expect((await ledger.getStats()).totalEntries).toBe(1);
        expect(await ledger.verifyIntegrity()).toBe(true);
      });

      it('converts Dates to ISO strings', async () => {
        const { ledger } = await fresh();
        const e = await ledger.append({ at: new Date('2026-01-02T03:04:05.678Z') });
        expect(e.data).toEqual({ at: '2026-01-02T03:04:05.678Z' });
      });
    });

    describe('concurrency', () => {
      it('group-commits hundreds of concurrent appends into one contiguous chain', async () => {
        const { ledger } = await fresh();
        const entries = await Promise.all(Array.from({ length: 500 }, (_, i) => ledger.append({ i })));
        const indexes = entries.map((e) => e.index).sort((a, b) => a - b);
        expect(indexes).toEqual(Array.from({ length: 500 }, (_, i) => i));
        const report = await ledger.verify();
        expect(report.ok).toBe(true);
        expect(report.entriesChecked).toBe(500);
      });

      it('two ledger objects on one store never fork the chain', async () => {
        const { ledger, key } = await fresh();
        const second = await factory.open(key);
        const other = new Ledger({ backend: second.backend });
        opened.push(other);
        await Promise.all([
          ...Array.from({ length: 150 }, (_, i) => ledger.append({ from: 'a', i })),
          ...Array.from({ length: 150 }, (_, i) => other.append({ from: 'b', i })),
        ]);
        expect((await ledger.getStats()).totalEntries).toBe(300);
        expect((await other.verify()).ok).toBe(true);
        expect((await ledger.verify()).ok).toBe(true);
      });

      it('appendBatch is atomic: a bad event stores none of the batch', async () => {
        const { ledger } = await fresh();
        await expect(ledger.appendBatch([{ a: 1 }, { b: Number.NaN }])).rejects.toBeInstanceOf(
          ValidationError,
        );
        expect((await ledger.getStats()).totalEntries).toBe(0);
        const ok = await ledger.appendBatch([{ a: 1 }, { b: 2 }, { c: 3 }]);
        expect(ok.map((e) => e.index)).toEqual([0, 1, 2]);
      });
    });

    describe('proofs and checkpoints', () => {
      it('proves inclusion and consistency offline against signed checkpoints', async () => {
        const logKey = generateLogKey('audit.example.com/conformance');
        const { ledger } = await fresh({ logKey });
        const first = await appendN(ledger, 7);
        const cp1 = await ledger.checkpoint();
        expect(cp1.size).toBe(7);
        const more = await Promise.all(Array.from({ length: 300 }, (_, i) => ledger.append({ more: i })));
        const cp2 = await ledger.checkpoint();
        expect(cp2.size).toBe(307);
        expect(cp2.text.startsWith('audit.example.com/conformance\n307\n')).toBe(true);
        for (const e of [first[0]!, first[6]!, more[0]!, more[299]!]) {
          const p = await ledger.proveInclusion(e.id, cp2);
          expect(verifyInclusion(e, p, cp2, logKey.verifierKey)).toBe(true);
        }
        const c = await ledger.proveConsistency(cp1, cp2);
        expect(verifyConsistency(cp1, cp2, c, logKey.verifierKey)).toBe(true);
        expect(await ledger.verifyIntegrity({ trusted: cp1 })).toBe(true);
        const report = await ledger.verify({ trusted: cp2 });
        expect(report.assurance).toBe('trusted');
        // A proof for entry 3 does not verify as a proof for entry 4.
        const p3 = await ledger.proveInclusion(3, cp2);
        expect(() => verifyInclusion(first[4]!, { ...p3, index: 4 }, cp2, logKey.verifierKey)).toThrow();
        // Latest checkpoint is stored and re-opened.
        expect((await ledger.latestCheckpoint())?.size).toBe(307);
      });
    });

    describe('redaction', () => {
      it('erases data, records the redaction, and still verifies', async () => {
        const { ledger } = await fresh();
        const entries = await appendN(ledger, 5, (i) => ({ patient: `P${i}`, ssn: `000-00-000${i}` }));
        const record = await ledger.redact(entries[2]!.id, { reason: 'GDPR Art. 17 request #42' });
        expect(record.type).toBe('redaction');
        expect(record.data).toMatchObject({
          redacts: { id: entries[2]!.id, index: 2 },
          reason: 'GDPR Art. 17 request #42',
        });
        const erased = await ledger.getEntry(entries[2]!.id);
        expect(erased?.redacted).toBe(true);
        expect(erased?.data).toBeNull();
        expect(erased?.hash).toBe(entries[2]!.hash);
        const report = await ledger.verify();
        expect(report.ok).toBe(true);
        expect(report.redacted).toEqual([2]);
        await expect(ledger.redact(entries[2]!.id, { reason: 'again' })).rejects.toBeInstanceOf(
          ValidationError,
        );
      });

      it('two ledger objects redacting one entry at once: one record, the other refused, nothing else lost', async () => {
        const { ledger, key } = await fresh();
        const second = await factory.open(key);
        const other = new Ledger({ backend: second.backend });
        opened.push(other);
        const entries = await appendN(ledger, 3);
        const target = entries[1]!;
        await other.open();
        // `other`'s first two groups wait at a gate (two: a backend may keep two groups in flight),
        // so what it queues meanwhile (the redaction and ten appends) forms one later group; every
        // group it builds is recorded.
        const store = second.backend as {
          append: StorageBackend['append'];
          getById(id: string): Promise<unknown>;
        };
        const append = store.append.bind(store);
        const groups: { entries: number; erase: number[] }[] = [];
        const alongside: Promise<unknown>[] = [];
        let open!: () => void;
        const gate = new Promise<void>((r) => {
          open = r;
        });
        let gateOpen = false;
        let gatedCalls = 0;
        let firstRedaction = false; // `ledger`'s own commit (the same backend object in memory) passes
        store.append = async (build) => {
          if (!firstRedaction && !gateOpen && gatedCalls < 2) {
            if (gatedCalls++ === 0) alongside.push(other.append({ second: true }));
            await gate;
          }
          return append(async (ctx) => {
            const b = await build(ctx);
            groups.push({ entries: b.entries.length, erase: [...b.erase] });
            return b;
          });
        };
        alongside.push(other.append({ first: true }));
        // `other` reads the entry before the first redaction commits (so its own up-front check
        // passes): the store must refuse the second erase.
        const read = store.getById.bind(store);
        let raced = false;
        store.getById = async (id: string) => {
          const row = await read(id);
          if (!raced && id === target.id) {
            raced = true;
            firstRedaction = true;
            await ledger.redact(target.id, { reason: 'first' });
            firstRedaction = false;
            for (let i = 0; i < 10; i++) alongside.push(other.append({ alongside: i }));
            // Opened once this read has returned and the redaction is queued (microtasks run first).
            setImmediate(() => {
              gateOpen = true;
              open();
            });
          }
          return row;
        };
        const err = await other.redact(target.id, { reason: 'second' }).catch((e: unknown) => e);
        expect(raced).toBe(true);
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as Error).message).toMatch(/already redacted/);
        // The refused redaction shared a group with appends, which were committed without it.
        // (Not forced with two groups in flight, the SQLite writer thread: a group is taken as soon
        // as a slot frees, and the redaction may come alone; the rest of the test holds there too.)
        const pipelined = other.pipelineDepth > 1;
        if (!pipelined)
          expect(groups.some((g) => g.erase.includes(target.index) && g.entries > 1)).toBe(true);
        expect(await Promise.all(alongside)).toHaveLength(12);
        const all = await ledger.getEntries({ limit: 100 });
        expect(all).toHaveLength(3 + 1 + 12);
        expect(all.filter((e) => e.type === 'redaction')).toHaveLength(1);
        const report = await other.verify();
        expect(report.ok).toBe(true);
        expect(report.redacted).toEqual([1]);
      });

      it('detects data erased without a redaction record', async () => {
        const { ledger, store } = await fresh();
        await appendN(ledger, 4);
        await store.tamper.updateEntry(1, { data: null, salt: null });
        const report = await ledger.verify();
        expect(report.ok).toBe(false);
        expect(report.failure?.kind).toBe('redaction_unrecorded');
        expect(report.failure?.index).toBe(1);
      });
    });

    describe('signatures', () => {
      it('signs entries and checks them against a key ring', async () => {
        const ed = new Ed25519Signer();
        const { ledger, store } = await fresh({ signer: ed });
        const entries = await appendN(ledger, 4);
        expect(ed.verify(entries[0]!.hash, entries[0]!.signature!)).toBe(true);
        const ring = new KeyRing([ed]);
        expect(await ledger.verifyIntegrity({ keys: ring, requireSignatures: 1 })).toBe(true);
        const other = new Ed25519Signer();
        const report = await ledger.verify({ keys: new KeyRing([other]) });
        expect(report.failure?.kind).toBe('key_unknown');
        // Replace a signature with another key's valid signature: detected by the ring and by the tree.
        const forged = await other.signRecord(entries[1]!.hash);
        await store.tamper.updateEntry(1, { signatures: JSON.stringify([forged]) });
        const r2 = await ledger.verify({ keys: ring });
        expect(r2.ok).toBe(false);
        expect(r2.failure?.index).toBe(1);
      });
    });

    describe('tamper detection', () => {
      async function tampered(n = 6) {
        const logKey = generateLogKey('audit.example.com/tamper');
        const f = await fresh({ logKey });
        const entries = await appendN(f.ledger, n);
        return { ...f, entries, logKey };
      }
      async function expectFailure(ledger: Ledger, kinds: string[], index?: number, trusted?: string) {
        const report = await ledger.verify(trusted ? { trusted } : {});
        expect(report.ok).toBe(false);
        expect(kinds).toContain(report.failure?.kind);
        if (index !== undefined) expect(report.failure?.index).toBe(index);
        await expect(ledger.verifyIntegrity(trusted ? { trusted } : {})).rejects.toBeInstanceOf(
          IntegrityError,
        );
        return report;
      }

      it('detects edited data', async () => {
        const { ledger, store, entries } = await tampered();
        await store.tamper.updateEntry(3, { data: JSON.stringify({ i: 3, user: 'mallory' }) });
        const r = await expectFailure(ledger, ['data_mismatch'], 3);
        expect(r.failure?.id).toBe(entries[3]!.id);
      });

      it('detects edited metadata (inside the commitment)', async () => {
        const { ledger, store } = await tampered();
        const row = (await store.tamper.readEntry(2))!;
        await store.tamper.updateEntry(2, { body: row.body.replace('"metadata":{}', '"metadata":{"x":1}') });
        await expectFailure(ledger, ['hash_mismatch'], 2);
      });

      it('detects an edited timestamp column and an edited committed timestamp', async () => {
        const { ledger, store } = await tampered();
        const row = (await store.tamper.readEntry(1))!;
        await store.tamper.updateEntry(1, { timestampMs: row.timestampMs + 1 });
        await expectFailure(ledger, ['column_mismatch'], 1);
        await store.tamper.updateEntry(1, { timestampMs: row.timestampMs });
        const t2 = new Date(row.timestampMs + 5000).toISOString();
        await store.tamper.updateEntry(1, {
          body: row.body.replace(/"timestamp":"[^"]+"/, `"timestamp":"${t2}"`),
          timestampMs: row.timestampMs + 5000,
        });
        await expectFailure(ledger, ['hash_mismatch'], 1);
      });

      it('detects an edited hash, even one recomputed to match the edited body', async () => {
        const { ledger, store } = await tampered();
        const row = (await store.tamper.readEntry(4))!;
        await store.tamper.updateEntry(4, { hash: Buffer.alloc(32, 7) });
        await expectFailure(ledger, ['hash_mismatch'], 4);
        const body = row.body.replace('"metadata":{}', '"metadata":{"approved":true}');
        await store.tamper.updateEntry(4, { body, hash: digest('sha256', Buffer.from(body)) });
        // The next entry's link no longer matches.
        await expectFailure(ledger, ['broken_link', 'tree_mismatch', 'head_mismatch'], undefined);
      });

      it('detects an entry deleted from the middle', async () => {
        const { ledger, store } = await tampered();
        await store.tamper.deleteEntry(2);
        await expectFailure(ledger, ['gap'], 3);
      });

      it('detects two entries swapped', async () => {
        const { ledger, store } = await tampered();
        await store.tamper.swapEntries(1, 2);
        await expectFailure(ledger, ['reorder', 'broken_link'], 1);
      });

      it('detects an inserted entry', async () => {
        const { ledger, store } = await tampered();
        const row = (await store.tamper.readEntry(2))!;
        await store.tamper.insertEntryAt(3, { ...row, id: randomUUID() });
        await expectFailure(ledger, ['reorder', 'broken_link', 'column_mismatch', 'duplicate'], 3);
      });

      it('never reads a row stored past the head, and verify() reports it where the store can say', async () => {
        const { ledger, store, entries } = await tampered();
        const row = (await store.tamper.readEntry(5))!;
        const forged = randomUUID();
        await store.tamper.insertEntryAt(6, {
          ...row,
          id: forged,
          data: JSON.stringify({ i: 5, user: 'mallory' }),
        });
        expect(await ledger.getEntryAt(6)).toBeNull();
        expect(await ledger.getEntry(forged)).toBeNull();
        expect((await ledger.getEntries()).map((e) => e.id)).toEqual(entries.map((e) => e.id));
        expect(await ledger.query({ where: { 'data.user': 'mallory' } })).toEqual([]);
        const streamed: string[] = [];
        for await (const e of ledger.entries()) streamed.push(e.id);
        expect(streamed).toEqual(entries.map((e) => e.id));
        if (store.backend.auditStore) await expectFailure(ledger, ['head_mismatch'], 6);
      });

      it('never reads a row stored below index 0, and verify() reports it where the store can hold one', async () => {
        const { ledger, store, entries } = await tampered();
        if (!store.tamper.insertBelowZero) return; // the store cannot hold such a row (memory, Redis)
        const row = (await store.tamper.readEntry(0))!;
        const forged = randomUUID();
        await store.tamper.insertBelowZero({
          ...row,
          id: forged,
          data: JSON.stringify({ i: 0, user: 'mallory' }),
        });
        expect(await ledger.getEntry(forged)).toBeNull();
        expect((await ledger.getEntries()).map((e) => e.id)).toEqual(entries.map((e) => e.id));
        expect((await ledger.getEntries({ order: 'desc' })).map((e) => e.id)).toEqual(
          entries.map((e) => e.id).reverse(),
        );
        expect((await ledger.getEntries({ startTime: new Date(0), endTime: new Date(8.64e15) })).length).toBe(
          entries.length,
        );
        expect(await ledger.query({ where: { 'data.user': 'mallory' } })).toEqual([]);
        expect((await ledger.getStats()).totalEntries).toBe(entries.length);
        if (store.backend.auditStore) await expectFailure(ledger, ['head_mismatch'], -1);
      });

      it('detects a truncated tail against a trusted checkpoint, even with the head rewritten', async () => {
        const { ledger, store, entries } = await tampered(8);
        const cp = await ledger.checkpoint();
        // Delete the last 3 entries and rewrite head and tree as if they never existed, and drop checkpoints.
        for (const i of [7, 6, 5]) await store.tamper.deleteEntry(i);
        await store.tamper.deleteCheckpoints();
        await rewriteTree(
          store,
          entries.slice(0, 5).map((e) => e),
        );
        // Without a trusted checkpoint this is undetectable by design: the report says so.
        const blind = await ledger.verify();
        expect(blind.ok).toBe(true);
        expect(blind.assurance).toBe('chain');
        expect(blind.notChecked.join(' ')).toMatch(/trusted checkpoint/);
        const r = await expectFailure(ledger, ['truncated'], undefined, cp.text);
        expect(r.failure?.expected).toBe('8');
      });

      it('detects a consistent rewrite of the whole log against a trusted checkpoint', async () => {
        const { ledger, store, key } = await tampered(5);
        const cp = await ledger.checkpoint();
        // An attacker with the store rebuilds a different, internally consistent history.
        await store.tamper.deleteCheckpoints();
        await store.tamper.deleteAllEntries();
        await store.tamper.deleteAllTiles();
        await store.tamper.setHead({
          size: 0,
          lastHash: null,
          frontier: Buffer.alloc(0),
          rootHash: digest('sha256'),
        });
        const forger = new Ledger({ backend: (await factory.open(key)).backend });
        opened.push(forger);
        for (let i = 0; i < 6; i++) await forger.append({ i, user: 'forged' });
        // Entries commit to the ledger id, which the forger reuses from the store's meta; chain verifies.
        expect((await ledger.verify()).ok).toBe(true);
        await expectFailure(ledger, ['tree_mismatch', 'inconsistent_checkpoint'], undefined, cp.text);
      });

      it('detects a fork: a stored checkpoint that disagrees with the trusted one', async () => {
        const { ledger, store } = await tampered(4);
        const cp = await ledger.checkpoint();
        const row = (await store.tamper.readEntry(3))!;
        await store.tamper.deleteEntry(3);
        await rewriteTreeFromStore(store, 3);
        await ledger.append({ forked: true });
        // Position 3 now holds another entry: a fork of the history the checkpoint signed.
        expect((await store.tamper.readEntry(3))!.hash.equals(row.hash)).toBe(false);
        await store.tamper.deleteCheckpoints();
        await expectFailure(ledger, ['tree_mismatch', 'inconsistent_checkpoint'], undefined, cp.text);
      });

      it('detects an edited checkpoint row', async () => {
        const { ledger, store } = await tampered(4);
        await ledger.checkpoint();
        await store.tamper.updateCheckpoint(4, { rootHash: Buffer.alloc(32, 1) });
        await expectFailure(ledger, ['checkpoint_invalid']);
      });

      it('detects a tampered tree tile used for proofs', async () => {
        const { ledger, store } = await tampered(6);
        await store.tamper.writeTile(0, 0, 6, Buffer.alloc(tilesLen(6), 9));
        await expectFailure(ledger, ['tree_mismatch']);
      });

      it('detects an edited tile node off the frontier (a leaf hash, an interior node) and an edited tile width', async () => {
        const { ledger, store } = await fresh();
        const entries = await ledger.appendBatch(Array.from({ length: 300 }, (_, i) => ({ i })));
        const leaves = entries.map((e) =>
          leafHash(Buffer.from(leafText(e.hash, e.signatures.length ? JSON.stringify(e.signatures) : null))),
        );
        const tiles = tilesForTree(leaves);
        const full = tiles.find((t) => t.level === 0 && t.index === 0)!;
        const edge = tiles.find((t) => t.level === 0 && t.index === 1)!;
        expect([full.width, edge.width]).toEqual([256, 44]);
        const restore = () => store.tamper.writeTile(0, 0, 256, full.hashes);
        const flipped = (node: number) => {
          const b = Buffer.from(full.hashes);
          b[node * 32 + 7]! ^= 0x40;
          return b;
        };
        expect((await ledger.verify()).ok).toBe(true);
        // Leaf 5's hash (section 0 of the full tile): not a frontier node, not on the root's fold.
        await store.tamper.writeTile(0, 0, 256, flipped(5));
        let r = await expectFailure(ledger, ['tree_mismatch'], 5);
        expect(r.failure?.message).toContain('tile 0/0');
        // Node 3/2 (height 3, over leaves 16..23): section 3 starts after 256 + 128 + 64 nodes.
        await store.tamper.writeTile(0, 0, 256, flipped(256 + 128 + 64 + 2));
        r = await expectFailure(ledger, ['tree_mismatch'], 23);
        expect(r.failure?.message).toContain('node 3/2');
        await restore();
        expect((await ledger.verify()).ok).toBe(true);
        // The full tile stored as width 255 (its first 255 leaves, consistent interior nodes).
        const narrow = tilesForTree(leaves.slice(0, 255)).find((t) => t.level === 0 && t.index === 0)!;
        await store.tamper.writeTile(0, 0, 255, narrow.hashes);
        await expectFailure(ledger, ['tree_mismatch']);
        await restore();
        // The edge tile narrowed to 40 nodes: its nodes all still right, the width is not.
        const edge40 = tilesForTree(leaves.slice(0, 296)).find((t) => t.level === 0 && t.index === 1)!;
        await store.tamper.writeTile(0, 1, 40, edge40.hashes);
        await expectFailure(ledger, ['tree_mismatch']);
        await store.tamper.writeTile(0, 1, 44, edge.hashes);
        expect((await ledger.verify()).ok).toBe(true);
        // Level 1 holds one node at 300 entries (the root of the full level-0 tile).
        const upper = tiles.find((t) => t.level === 1 && t.index === 0)!;
        expect(upper.width).toBe(1);
        await store.tamper.writeTile(1, 0, 1, Buffer.alloc(32, 3));
        await expectFailure(ledger, ['tree_mismatch'], 255);
        await store.tamper.writeTile(1, 0, 1, upper.hashes);
        expect((await ledger.verify()).ok).toBe(true);
        // A tile stored past the tree (no level 2 at 300 entries).
        await store.tamper.writeTile(2, 0, 1, Buffer.alloc(32, 3));
        await expectFailure(ledger, ['tree_mismatch']);
      });

      it('detects a tile stored anywhere the tree has none', async () => {
        // 300 entries: tiles 0/0, 0/1 and 1/0 exist; each of these would not.
        for (const [level, index] of [
          [0, 2],
          [0, 3],
          [0, 99_999],
          [1, 1],
          [3, 0],
          [9, 0],
        ] as const) {
          const { ledger, store } = await fresh();
          await ledger.appendBatch(Array.from({ length: 300 }, (_, i) => ({ i })));
          await store.tamper.writeTile(level, index, 1, Buffer.alloc(32, 3));
          const r = await expectFailure(ledger, ['tree_mismatch']);
          expect(r.failure?.message, `${level}/${index}`).toMatch(/tile/);
        }
      });

      it('refuses to sign a checkpoint inconsistent with an earlier one', async () => {
        const { ledger, store } = await tampered(4);
        await ledger.checkpoint();
        await store.tamper.deleteEntry(3);
        await rewriteTreeFromStore(store, 3);
        await ledger.append({ replaced: true });
        await expect(ledger.checkpoint()).rejects.toBeInstanceOf(IntegrityError);
      });
    });

    describe('identity', () => {
      it('records the hash algorithm and refuses to reopen with another', async () => {
        const { key, ledger } = await fresh({ hashAlgorithm: 'sha3-256' });
        const e = await ledger.append({ a: 1 });
        expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
        expect((await ledger.getStats()).hashAlgorithm).toBe('sha3-256');
        const again = new Ledger({ backend: (await factory.open(key)).backend });
        opened.push(again);
        expect((await again.getMeta()).hashAlgorithm).toBe('sha3-256');
        expect(await again.verifyIntegrity()).toBe(true);
        const wrong = new Ledger({ backend: (await factory.open(key)).backend, hashAlgorithm: 'sha512' });
        opened.push(wrong);
        await expect(wrong.open()).rejects.toMatchObject({ code: 'STORAGE_INCOMPATIBLE' });
      });
    });
  });

  /** Rewrite head and tiles to cover exactly these entries (an attacker hiding a truncation). */
  async function rewriteTree(store: BackendUnderTest, entries: Entry[]) {
    const leaves = entries.map((e) =>
      leafHash(Buffer.from(leafText(e.hash, e.signatures.length ? JSON.stringify(e.signatures) : null))),
    );
    await writeTree(store, leaves, entries[entries.length - 1]?.hash ?? null);
  }

  async function rewriteTreeFromStore(store: BackendUnderTest, size: number) {
    const leaves: Buffer[] = [];
    let last: string | null = null;
    for (let i = 0; i < size; i++) {
      const row = (await store.tamper.readEntry(i))!;
      last = row.hash.toString('hex');
      leaves.push(leafHash(Buffer.from(leafText(last, row.signatures))));
    }
    await writeTree(store, leaves, last);
  }

  async function writeTree(store: BackendUnderTest, leaves: Buffer[], lastHash: string | null) {
    await store.tamper.deleteAllTiles();
    for (const t of tilesForTree(leaves)) await store.tamper.writeTile(t.level, t.index, t.width, t.hashes);
    const f = frontierAppend([], 0, leaves).frontier;
    await store.tamper.setHead({
      size: leaves.length,
      lastHash,
      frontier: encodeFrontier(f),
      rootHash: frontierRoot(f),
    });
  }

  function tilesLen(width: number): number {
    let n = 0;
    for (let w = width, h = 0; h < 8 && w > 0; h++, w = Math.floor(w / 2)) n += w;
    return n * 32;
  }
}
