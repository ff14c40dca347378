/**
 * Append throughput: sequential awaited, 64 concurrent callers and BatchProcessor, in memory and
 * in a durable SQLite file; raw better-sqlite3 inserts of the same rows (one transaction per batch
 * of 1,000, same WAL + synchronous=FULL) and pino writing the same events to a file as references.
 */
import Database from 'better-sqlite3';
import pino from 'pino';
import { InMemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import type { StoredEntry } from '../../src/entry/types.js';
import { BatchProcessor } from '../../src/ledger/batch.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { event, events } from './events.js';
import { freshPath, remove } from './files.js';
import { type Figure, rate, repeat, time, withBaseline } from './measure.js';

export interface AppendSizes {
  runs: number;
  /** Entries per run for concurrent and batch modes. */
  n: number;
  /** Entries per run for sequential awaited appends (durable SQLite pays one fsync each). */
  seqMemory: number;
  seqSqlite: number;
}

type Kind = 'memory' | 'sqlite';

async function openLedger(
  kind: Kind,
  tag: string,
  writerThread = false,
): Promise<{ ledger: Ledger; path?: string }> {
  if (kind === 'memory')
    return { ledger: await Ledger.open({ backend: new InMemoryBackend(), maxEntriesMemory: 0 }) };
  const path = freshPath(`append-${tag}.db`);
  return {
    ledger: await Ledger.open({
      backend: new SQLiteBackend({ path, durability: 'full', writerThread }),
      maxEntriesMemory: 0,
    }),
    path,
  };
}

async function sequential(ledger: Ledger, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await ledger.append(event(i));
}

async function concurrent(ledger: Ledger, n: number, callers = 64): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < n) {
        const i = next++;
        await ledger.append(event(i));
      }
    }),
  );
}

async function batched(ledger: Ledger, n: number): Promise<void> {
  const b = new BatchProcessor(ledger, { batchSize: 1000 });
  for (let i = 0; i < n; i++) await b.addEntry(event(i));
  const r = await b.flush();
  if (r.written !== n) throw new Error(`BatchProcessor wrote ${r.written} of ${n}`);
}

/** Rows exactly as the SQLite backend stores them, made once by a ledger. */
async function sampleRows(n: number): Promise<StoredEntry[]> {
  const ledger = await Ledger.open({ backend: new InMemoryBackend(), maxEntriesMemory: 0 });
  for (let i = 0; i < n; i += 1000) await ledger.appendBatch(events(i, Math.min(1000, n - i)));
  const rows: StoredEntry[] = [];
  for await (const chunk of ledger.backend.scan({ chunkSize: 4096 })) rows.push(...chunk);
  await ledger.close();
  return rows;
}

function rawSqlite(rows: StoredEntry[], perTx = 1000): number {
  const path = freshPath('raw.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE e (idx INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, ts INTEGER NOT NULL, hash BLOB NOT NULL,
    body TEXT NOT NULL, data TEXT, salt BLOB, sigs TEXT); CREATE INDEX e_ts ON e (ts);`);
  const ins = db.prepare('INSERT INTO e VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const tx = db.transaction((part: StoredEntry[]) => {
    for (const r of part) ins.run(r.index, r.id, r.timestampMs, r.hash, r.body, r.data, r.salt, r.signatures);
  });
  const t = performance.now();
  for (let i = 0; i < rows.length; i += perTx) tx(rows.slice(i, i + perTx));
  const ms = performance.now() - t;
  db.close();
  remove(path);
  return rate(rows.length, ms);
}

async function pinoFile(n: number): Promise<number> {
  const path = freshPath('pino.log');
  const dest = pino.destination({ dest: path, sync: true });
  const log = pino(dest);
  const ms = await time(() => {
    for (let i = 0; i < n; i++) log.info(event(i));
  });
  dest.flushSync();
  dest.end();
  remove(path);
  return rate(n, ms);
}

export async function benchAppends(s: AppendSizes, log: (m: string) => void): Promise<Figure[]> {
  const out: Figure[] = [];
  log('appends: raw better-sqlite3 baseline');
  const rows = await sampleRows(s.n);
  const raw = await repeat('raw better-sqlite3 insert, 1 tx / 1,000 rows (durable)', 'rows/s', s.runs, () =>
    rawSqlite(rows),
  );
  out.push(raw);
  // 64 awaiting callers can never be committed more than 64 per transaction: the comparable raw
  // figure is 64-row durable transactions (one fsync each).
  const raw64 = await repeat('raw better-sqlite3 insert, 1 tx / 64 rows (durable)', 'rows/s', s.runs, () =>
    rawSqlite(rows, 64),
  );
  out.push(raw64);
  log('appends: pino');
  out.push(
    withBaseline(
      await repeat('pino → file (sync destination), plain logging', 'events/s', s.runs, () => pinoFile(s.n)),
      raw,
    ),
  );
  for (const kind of ['memory', 'sqlite'] as const) {
    const label = kind === 'memory' ? 'in-memory' : 'SQLite durable';
    const modes: [string, number, (l: Ledger, n: number) => Promise<void>, boolean][] = [
      ['sequential awaited', kind === 'memory' ? s.seqMemory : s.seqSqlite, sequential, false],
      ['64 concurrent callers', s.n, concurrent, false],
      ['BatchProcessor (1,000)', s.n, batched, false],
    ];
    // The SQLite writer thread (option `writerThread`): the next group is built while one commits.
    if (kind === 'sqlite') modes.push(['BatchProcessor (1,000), writerThread', s.n, batched, true]);
    for (const [mode, n, fn, writerThread] of modes) {
      log(`appends: ${label} ${mode}`);
      const f = await repeat(`append ${label}, ${mode}`, 'entries/s', s.runs, async (r) => {
        const { ledger, path } = await openLedger(kind, `${kind}-${r}`, writerThread);
        const ms = await time(() => fn(ledger, n));
        await ledger.close();
        if (path) remove(path);
        return rate(n, ms);
      });
      out.push(withBaseline(f, kind === 'sqlite' && mode === '64 concurrent callers' ? raw64 : raw));
    }
  }
  return out;
}
