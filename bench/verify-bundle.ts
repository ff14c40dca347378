/**
 * verify-bundle throughput: entries/s of the offline verifier on an exported bundle (1,000,000
 * entries in full mode, 50,000 quick), against plain SHA-256 of the same entry bodies in the same run.
 * Run alone: node --import tsx bench/verify-bundle.ts [--quick] [--entries N]
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQLiteBackend } from '../src/backends/sqlite/sqlite-backend.js';
import { exportBundle } from '../src/cli/bundle-export.js';
import { Ledger } from '../src/ledger/ledger.js';
import { generateLogKey } from '../src/ledger/log-key.js';
import { ENTRIES_FILE, parseEntryLine } from '../src/verify/bundle/format.js';
import { splitLines } from '../src/verify/bundle/lines.js';
import { streamBundleFile } from '../src/verify/bundle/read.js';
import { verifyBundle } from '../src/verify/bundle.js';

export interface BenchRow {
  name: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  baseline?: { name: string; median: number };
  ratio?: number;
}

function stats(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s[s.length - 1]! };
}

/** A SQLite ledger of `n` small audit events, checkpointed and exported as a bundle. */
async function makeBundle(dir: string, n: number): Promise<{ bundle: string; verifierKey: string }> {
  const logKey = generateLogKey('bench.example/verify-bundle');
  const ledger = await Ledger.open({
    backend: new SQLiteBackend({ path: join(dir, 'bench.db'), durability: 'normal' }),
    logKey,
  });
  const batch = 4096;
  for (let i = 0; i < n; i += batch) {
    const events = [];
    for (let j = i; j < Math.min(n, i + batch); j++) {
      events.push({
        action: j % 3 === 0 ? 'login' : 'transfer',
        user: `user-${j % 997}`,
        amount: j % 1000,
        ip: `10.0.${j % 256}.${(j >> 8) % 256}`,
      });
    }
    await ledger.appendBatch(events);
  }
  const cp = await ledger.checkpoint();
  const bundle = join(dir, 'bundle');
  await exportBundle(ledger, bundle, cp, logKey.verifierKey);
  await ledger.close();
  return { bundle, verifierKey: logKey.verifierKey };
}

/** Up to `keep` entry bodies from the bundle, for the hashing baseline. */
async function sampleBodies(bundle: string, keep: number): Promise<string[]> {
  const out: string[] = [];
  for await (const lines of splitLines(streamBundleFile(bundle, ENTRIES_FILE))) {
    for (const l of lines) {
      const row = parseEntryLine(l.text);
      if (typeof row !== 'string') out.push(row.body);
      if (out.length >= keep) return out;
    }
  }
  return out;
}

export async function benchVerifyBundle(opts: { quick: boolean; entries?: number }): Promise<BenchRow[]> {
  const n = opts.entries ?? (opts.quick ? 50_000 : 1_000_000);
  const runs = opts.quick ? 5 : 3;
  const dir = mkdtempSync(join(tmpdir(), 'signledger-bench-vb-'));
  try {
    const { bundle, verifierKey } = await makeBundle(dir, n);
    const bodies = await sampleBodies(bundle, Math.min(n, 100_000));
    const verifyRates: number[] = [];
    const hashRates: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const report = await verifyBundle(bundle, { verifierKey });
      const t1 = performance.now();
      if (!report.ok || report.entriesChecked !== n)
        throw new Error(`bench bundle did not verify: ${report.failure?.message}`);
      verifyRates.push(n / ((t1 - t0) / 1000));
      // Baseline: SHA-256 over the same entry bodies (UTF-8), n hashes.
      const h0 = performance.now();
      for (let i = 0; i < n; i++)
        createHash('sha256')
          .update(bodies[i % bodies.length]!, 'utf8')
          .digest();
      hashRates.push(n / ((performance.now() - h0) / 1000));
    }
    const v = stats(verifyRates);
    const h = stats(hashRates);
    const baselineName = `sha256 of ${n.toLocaleString('en-US')} entry bodies`;
    return [
      { name: baselineName, unit: 'entries/s', ...h },
      {
        name: `verify-bundle ${n.toLocaleString('en-US')} entries`,
        unit: 'entries/s',
        ...v,
        baseline: { name: baselineName, median: h.median },
        ratio: v.median / h.median,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  const i = process.argv.indexOf('--entries');
  const rows = await benchVerifyBundle({ quick, ...(i > 0 ? { entries: Number(process.argv[i + 1]) } : {}) });
  console.table(
    rows.map((r) => ({
      name: r.name,
      unit: r.unit,
      median: Math.round(r.median),
      min: Math.round(r.min),
      max: Math.round(r.max),
      ratio: r.ratio?.toFixed(3),
    })),
  );
}
