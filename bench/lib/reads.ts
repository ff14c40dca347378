/** Reads, verification and proofs against one SQLite ledger built for the purpose. */
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { BatchProcessor } from '../../src/ledger/batch.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { generateLogKey } from '../../src/ledger/log-key.js';
import { verifyInclusion as merkleVerifyInclusion } from '../../src/merkle/verify.js';
import { entryLeafHash, verifyInclusion } from '../../src/verify/proofs.js';
import { event } from './events.js';
import { freshPath, remove } from './files.js';
import { type Figure, rate, repeat, time, withBaseline } from './measure.js';

export interface ReadSizes {
  runs: number;
  /** Entries in the ledger that reads, verification and proofs run against. */
  size: number;
  lookups: number;
  proofs: number;
}

export async function buildLedger(path: string, size: number, log: (m: string) => void) {
  const logKey = generateLogKey('bench.example/log');
  const ledger = await Ledger.open({
    backend: new SQLiteBackend({ path, durability: 'normal' }),
    logKey,
    maxEntriesMemory: 0,
  });
  const b = new BatchProcessor(ledger, { batchSize: 4096 });
  const t = performance.now();
  for (let i = 0; i < size; i++) {
    await b.addEntry(event(i));
    if (i % 100_000 === 99_999)
      log(`  built ${i + 1} entries (${Math.round(rate(i + 1, performance.now() - t))}/s)`);
  }
  await b.flush();
  const cp = await ledger.checkpoint();
  await ledger.close();
  return { logKey, checkpoint: cp };
}

function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

export async function benchReads(s: ReadSizes, log: (m: string) => void): Promise<Figure[]> {
  const out: Figure[] = [];
  const path = freshPath('reads.db');
  log(`reads: building a SQLite ledger of ${s.size} entries`);
  const { logKey, checkpoint } = await buildLedger(path, s.size, log);
  const open = () => Ledger.open({ backend: new SQLiteBackend({ path }), logKey, maxEntriesMemory: 0 });
  const ledger = await open();
  const pick = rng(7);

  log('reads: streaming');
  const stream = await repeat(
    `read SQLite, streaming entries() (${s.size.toLocaleString('en-US')})`,
    'entries/s',
    s.runs,
    async () => {
      let n = 0;
      const ms = await time(async () => {
        for await (const _ of ledger.entries({ chunkSize: 4096 })) n++;
      });
      return rate(n, ms);
    },
  );
  out.push(stream);
  log('reads: pages');
  out.push(
    await repeat(
      'read SQLite, pages of 1,000 at random offsets (getEntries)',
      'entries/s',
      s.runs,
      async () => {
        let n = 0;
        const pages = Math.min(100, Math.floor(s.size / 1000));
        const ms = await time(async () => {
          for (let p = 0; p < pages; p++)
            n += (await ledger.getEntries({ offset: pick(s.size - 1000), limit: 1000 })).length;
        });
        return rate(n, ms);
      },
    ),
  );
  log('reads: by id');
  const ids: string[] = [];
  for (let i = 0; i < s.lookups; i++) ids.push((await ledger.getEntryAt(pick(s.size)))!.id);
  out.push(
    await repeat('read SQLite, getEntry by id (random)', 'entries/s', s.runs, async () => {
      const ms = await time(async () => {
        for (const id of ids) await ledger.getEntry(id);
      });
      return rate(ids.length, ms);
    }),
  );
  out.push(
    await repeat('read SQLite, getEntryAt by index (random)', 'entries/s', s.runs, async () => {
      const ms = await time(async () => {
        for (let i = 0; i < s.lookups; i++) await ledger.getEntryAt(pick(s.size));
      });
      return rate(s.lookups, ms);
    }),
  );

  log(`verify: ${s.size} entries`);
  const verify = await repeat(
    `verify SQLite, full (${s.size.toLocaleString('en-US')} entries)`,
    'entries/s',
    s.runs,
    async () => {
      const l = await open();
      let ok = false;
      const ms = await time(async () => {
        ok = (await l.verify()).ok;
      });
      await l.close();
      if (!ok) throw new Error('verification failed');
      return rate(s.size, ms);
    },
  );
  out.push(
    withBaseline(
      { ...verify, note: `${(((s.size / verify.median) * 1000) / 1000).toFixed(2)} s per run` },
      stream,
    ),
  );

  log('proofs: generate');
  const proofs: { index: number; proof: Awaited<ReturnType<Ledger['proveInclusion']>> }[] = [];
  out.push(
    await repeat(
      `inclusion proofs generated, SQLite (${s.size.toLocaleString('en-US')})`,
      'proofs/s',
      s.runs,
      async () => {
        proofs.length = 0;
        const ms = await time(async () => {
          for (let i = 0; i < s.proofs; i++) {
            const index = pick(s.size);
            proofs.push({ index, proof: await ledger.proveInclusion(index, checkpoint) });
          }
        });
        return rate(s.proofs, ms);
      },
    ),
  );
  log('proofs: verify');
  const entries = await Promise.all(proofs.map((p) => ledger.getEntryAt(p.index)));
  out.push(
    await repeat(
      'inclusion proofs verified offline (entry re-hashed + audit path; checkpoint note verified once, cached)',
      'proofs/s',
      s.runs,
      async () => {
        const ms = await time(() => {
          for (let i = 0; i < proofs.length; i++)
            verifyInclusion(entries[i]!, proofs[i]!.proof, checkpoint, logKey.verifierKey);
        });
        return rate(proofs.length, ms);
      },
    ),
  );
  // The RFC 9162 audit-path check alone (what a client repeats per proof once it holds the entry's leaf hash).
  const paths = proofs.map((p, i) => ({
    index: p.index,
    size: p.proof.size,
    leaf: entryLeafHash(entries[i]!),
    path: p.proof.path.map((h) => Buffer.from(h, 'hex')),
    root: Buffer.from(p.proof.rootHash, 'hex'),
  }));
  out.push(
    await repeat(
      'RFC 9162 audit paths verified (leaf hash and path as bytes)',
      'proofs/s',
      s.runs,
      async () => {
        const ms = await time(() => {
          for (const p of paths) merkleVerifyInclusion(p.index, p.size, p.leaf, p.path, p.root);
        });
        return rate(paths.length, ms);
      },
    ),
  );
  await ledger.close();
  remove(path);
  return out;
}
