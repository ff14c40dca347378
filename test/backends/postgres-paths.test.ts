/**
 * PostgreSQL-specific paths the conformance suite does not reach: tables created without the GIN
 * query indexes, the partial metadata index, the strict commit mode, texts with quotes and
 * backslashes, a group write whose guard fails (its COPY skipped), and the binary COPY scan across
 * pages with gaps.
 */
import { describe, expect, it } from 'vitest';
import { PostgreSQLBackend } from '../../src/backends/postgres/index.js';
import { pgTables } from '../../src/backends/postgres/schema.js';
import type { StoredEntry } from '../../src/entry/types.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { dropPgPrefix } from '../conformance/factories/postgres.js';
import { pgScratch } from './pg-scratch.js';

const { url: PG, prefix, sql } = pgScratch('postgres-paths.test.ts', 'paths');

describe.skipIf(!PG)('postgres backend paths', () => {
  it('creates no GIN indexes with queryIndexes: false, and where-queries stay correct', async () => {
    const p = prefix('nogin');
    await dropPgPrefix(p);
    const ledger = new Ledger({
      backend: new PostgreSQLBackend({ connectionString: PG, tablePrefix: p, queryIndexes: false }),
      name: 'q',
    });
    try {
      await ledger.open();
      for (let i = 0; i < 12; i++)
        await ledger.append({ user: i % 3 === 0 ? 'alice' : 'bob', i }, { metadata: { n: i % 2 } });
      const idx = await sql<{ indexname: string }>(
        `SELECT indexname FROM pg_indexes WHERE tablename = '${pgTables(p).entries}' ORDER BY indexname`,
      );
      expect(idx.map((r) => r.indexname)).toEqual([`${p}entries_id`, `${p}entries_pkey`, `${p}entries_ts`]);
      expect((await ledger.query({ where: { 'data.user': 'alice' } })).map((e) => e.index)).toEqual([
        0, 3, 6, 9,
      ]);
      expect(
        (await ledger.query({ where: { 'data.user': 'bob', 'metadata.n': 0 } })).map((e) => e.index),
      ).toEqual([2, 4, 8, 10]);
    } finally {
      await ledger.close();
    }
  });

  it('indexes only non-empty metadata, and metadata queries still find every match', async () => {
    const p = prefix('meta');
    await dropPgPrefix(p);
    const ledger = new Ledger({
      backend: new PostgreSQLBackend({ connectionString: PG, tablePrefix: p }),
      name: 'm',
    });
    try {
      await ledger.open();
      await ledger.append({ i: 0 });
      // Nested keys that spell the empty-metadata pattern must not hide the entry from the index.
      await ledger.append({ i: 1 }, { metadata: { a: { metadata: {}, prev: 1 }, tag: 'x' } });
      await ledger.append({ i: 2 }, { metadata: { metadata: {}, tag: 'x' } });
      await ledger.append({ i: 3 }, { metadata: { tag: 'y' } });
      await ledger.append({ i: 4 }, { metadata: { "q'\\": 'x', tag: 'x' } });
      const t = pgTables(p);
      const indexed = await sql<{ idx: string }>(
        `SELECT idx FROM ${t.entries} WHERE strpos(body, '"metadata":{},') <> strpos(body, '"metadata":') ORDER BY idx`,
      );
      expect(indexed.map((r) => Number(r.idx))).toEqual([1, 2, 3, 4]);
      expect((await ledger.query({ where: { 'metadata.tag': 'x' } })).map((e) => e.index)).toEqual([1, 2, 4]);
      expect((await ledger.query({ where: { 'metadata.a.prev': 1 } })).map((e) => e.index)).toEqual([1]);
      expect((await ledger.query({ where: { 'data.i': 0 } })).map((e) => e.index)).toEqual([0]);
      // The query function is inlinable (not STRICT), so the index expressions cost no function call.
      const [fn] = await sql<{ proisstrict: boolean }>(
        `SELECT proisstrict FROM pg_proc WHERE proname = '${p}jsonb'`,
      );
      expect(fn?.proisstrict).toBe(false);
      const [pred] = await sql<{ def: string }>(
        `SELECT pg_get_indexdef('${p}entries_meta'::regclass) AS def`,
      );
      expect(pred?.def).toMatch(/WHERE \(strpos\(body/);
    } finally {
      await ledger.close();
    }
  });

  it('a group whose guard fails writes nothing, and its connection stays usable', async () => {
    const p = prefix('guard');
    await dropPgPrefix(p);
    // One connection: the next append reuses the one that had copy data sent behind a failed statement.
    const backend = new PostgreSQLBackend({ connectionString: PG, tablePrefix: p, max: 1 });
    const ledger = new Ledger({ backend, name: 'g' });
    try {
      await ledger.open();
      await ledger.append({ i: 0 });
      await expect(
        backend.append((ctx) => ({
          entries: [
            {
              index: ctx.head.size,
              id: 'x',
              timestampMs: 1,
              hash: Buffer.alloc(32),
              body: '{}',
              data: '{}',
              salt: Buffer.alloc(32),
              signatures: null,
            },
          ],
          tiles: [],
          erase: [12345],
          head: { ...ctx.head, size: ctx.head.size + 1 },
        })),
      ).rejects.toThrow(/cannot erase a missing entry/);
      const [n] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${pgTables(p).entries}`);
      expect(n?.n).toBe(1);
      await ledger.append({ i: 1 });
      const report = await ledger.verify();
      expect(report.ok).toBe(true);
      expect(report.entriesChecked).toBe(2);
    } finally {
      await ledger.close();
    }
  });

  it('stores texts with quotes, backslashes and non-ASCII byte-exactly, in both commit modes', async () => {
    for (const holdLockUntilDurable of [false, true]) {
      const p = prefix(holdLockUntilDurable ? 'hold' : 'early');
      await dropPgPrefix(p);
      const ledger = new Ledger({
        backend: new PostgreSQLBackend({ connectionString: PG, tablePrefix: p, holdLockUntilDurable }),
        name: 'lit',
      });
      try {
        await ledger.open();
        const tricky = [
          "it's",
          'back\\slash',
          "\\'; DROP TABLE x; --",
          'ünïcödé ✓ 𝄞',
          '\u0001\u001f',
          "E'x'",
        ];
        const appended = await Promise.all(
          tricky.map((s, i) => ledger.append({ s, i }, { metadata: { s } })),
        );
        for (const [i, e] of appended.entries()) {
          const back = await ledger.getEntry(e.id);
          expect(back?.data).toEqual({ s: tricky[i], i });
          expect(back?.metadata).toEqual({ s: tricky[i] });
          expect(back?.hash).toBe(e.hash);
        }
        const report = await ledger.verify();
        expect(report.ok).toBe(true);
        expect(report.entriesChecked).toBe(tricky.length);
      } finally {
        await ledger.close();
      }
    }
  });

  it('scans in order across pages, around gaps and within index bounds', async () => {
    const p = prefix('scan');
    await dropPgPrefix(p);
    const backend = new PostgreSQLBackend({ connectionString: PG, tablePrefix: p });
    const ledger = new Ledger({ backend, name: 's' });
    try {
      await ledger.open();
      for (let i = 0; i < 1400; i += 200)
        await ledger.appendBatch(Array.from({ length: 200 }, (_, j) => ({ n: i + j })));
      await ledger.redact((await ledger.getEntryAt(5))!.id, { reason: 'test' });
      const t = pgTables(p);
      // Gaps at the first page's edge, inside a later page and across a whole page.
      await sql(`DELETE FROM ${t.entries} WHERE idx IN (511, 512, 700) OR (idx >= 900 AND idx < 1200)`);
      const expected = (await sql<{ idx: string }>(`SELECT idx FROM ${t.entries} ORDER BY idx`)).map((r) =>
        Number(r.idx),
      );
      const seen: number[] = [];
      for await (const chunk of backend.scan({ chunkSize: 256 })) {
        expect(chunk.length).toBeLessThanOrEqual(256);
        for (const r of chunk) seen.push(r.index);
      }
      expect(seen).toEqual(expected);
      const bounded: number[] = [];
      for await (const chunk of backend.scan({ fromIndex: 500, toIndex: 1250, chunkSize: 100 }))
        for (const r of chunk) bounded.push(r.index);
      expect(bounded).toEqual(expected.filter((i) => i >= 500 && i < 1250));
      // The rows decode to what the row reads return (NULLs of the redacted entry included); scans
      // carry hash and salt as hex, with Buffers made on demand.
      const fields = (r: StoredEntry | null) =>
        r && {
          index: r.index,
          id: r.id,
          timestampMs: r.timestampMs,
          hash: r.hash,
          body: r.body,
          data: r.data,
          salt: r.salt,
          signatures: r.signatures,
        };
      const [row] = (await backend.scan({ fromIndex: 5, toIndex: 6 })[Symbol.asyncIterator]().next()).value;
      expect(fields(row)).toEqual(fields(await backend.getByIndex(5)));
      expect(row.data).toBeNull();
      expect(row.salt).toBeNull();
      const [other] = (await backend.scan({ fromIndex: 6, toIndex: 7 })[Symbol.asyncIterator]().next()).value;
      expect(fields(other)).toEqual(fields(await backend.getByIndex(6)));
      expect(Buffer.isBuffer(other.hash) && other.hash.length).toBe(32);
      const report = await ledger.verify();
      expect(report.ok).toBe(false);
      expect(report.failure?.kind).toBe('gap');
    } finally {
      await ledger.close();
    }
  });
});
