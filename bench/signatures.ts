/**
 * Issue 4 benchmarks: signed appends per second for each algorithm with 64 concurrent callers
 * (SQLite, durable), against unsigned appends in the same run; and signature verification
 * throughput inside `verify()` (worker threads, both cores) against raw crypto.verify of the same
 * signatures on one thread and on as many threads as verify() uses.
 */

import { verify as cryptoVerify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { SQLiteBackend } from '../src/backends/sqlite/sqlite-backend.js';
import { ECDSASigner, Ed25519Signer, KeyRing, RSASigner } from '../src/crypto/signatures/index.js';
import type { Signer } from '../src/crypto/signatures/types.js';
import { Ledger } from '../src/ledger/ledger.js';
import { defaultThreads } from '../src/ledger/parallel-verify.js';
import { type Figure, rate, repeat, withBaseline } from './lib/measure.js';

async function concurrentAppends(
  dir: string,
  n: number,
  signer: Signer | undefined,
  tag: string,
): Promise<number> {
  const path = join(dir, `${tag}-${Math.random().toString(36).slice(2)}.db`);
  const ledger = new Ledger({ backend: new SQLiteBackend(path), ...(signer ? { signer } : {}) });
  await ledger.open();
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < n) {
        const i = next++;
        await ledger.append({ action: 'transfer', account: `ACC${i % 977}`, amount: i * 7, currency: 'USD' });
      }
    }),
  );
  const ms = performance.now() - t;
  await ledger.close();
  for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
  return rate(n, ms);
}

// Each thread verifies every sample signature three times; the rate counts all threads' checks over
// the slowest thread's time (what the threads can do together on this machine).
const RAW_VERIFY_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
const key = createPublicKey({ key: Buffer.from(workerData.spki), format: 'der', type: 'spki' });
const items = workerData.items.map((it) => ({ msg: Buffer.from(it.msg), sig: Buffer.from(it.sig) }));
parentPort.once('message', () => {
  const t = performance.now();
  for (let r = 0; r < 3; r++) for (const it of items) if (!verify(null, it.msg, key, it.sig)) throw new Error('bad signature');
  parentPort.postMessage({ n: items.length * 3, ms: performance.now() - t });
});`;

async function rawVerifyThreads(
  threads: number,
  spki: Buffer,
  items: { msg: Buffer; sig: Buffer }[],
): Promise<number> {
  const workerData = { spki, items: items.map((it) => ({ msg: it.msg, sig: it.sig })) };
  const workers = Array.from(
    { length: threads },
    () => new Worker(RAW_VERIFY_THREAD, { eval: true, workerData }),
  );
  try {
    await Promise.all(workers.map((w) => new Promise((r) => w.once('online', r))));
    const replies = await Promise.all(
      workers.map(
        (w) =>
          new Promise<{ n: number; ms: number }>((resolve, reject) => {
            w.once('message', resolve);
            w.once('error', reject);
            w.postMessage('go');
          }),
      ),
    );
    return rate(
      replies.reduce((a, r) => a + r.n, 0),
      Math.max(...replies.map((r) => r.ms)),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

export async function benchSignatures(opts: {
  quick: boolean;
  runs: number;
  log?: (m: string) => void;
}): Promise<Figure[]> {
  const log = opts.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'signledger-bench-sig-'));
  const out: Figure[] = [];
  try {
    const n = opts.quick ? 5_000 : 20_000;
    log(`signatures: unsigned baseline, ${n} appends × ${opts.runs}`);
    const base = await repeat('sqlite append, 64 callers, unsigned', 'entries/s', opts.runs, () =>
      concurrentAppends(dir, n, undefined, 'unsigned'),
    );
    out.push(base);
    const signers: [string, Signer, number][] = [
      ['ed25519', new Ed25519Signer(), n],
      ['ecdsa-p256', new ECDSASigner({ curve: 'P-256' }), n],
      ['ecdsa-secp256k1', new ECDSASigner({ curve: 'secp256k1' }), Math.floor(n / 2)],
      ['rsa-pss-2048', new RSASigner({ keySize: 2048 }), Math.floor(n / 5)],
    ];
    for (const [name, signer, count] of signers) {
      log(`signatures: ${name} signed appends, ${count} × ${opts.runs}`);
      const f = await repeat(`sqlite append, 64 callers, ${name}-signed`, 'entries/s', opts.runs, () =>
        concurrentAppends(dir, count, signer, name),
      );
      out.push(withBaseline(f, base));
    }

    // Verification of Ed25519-signed entries: verify() with a KeyRing, against raw crypto.verify of the same signatures.
    const vn = opts.quick ? 20_000 : 100_000;
    const ed = new Ed25519Signer();
    const path = join(dir, 'verify.db');
    const ledger = new Ledger({ backend: new SQLiteBackend({ path, durability: 'normal' }), signer: ed });
    log(`signatures: building ${vn} Ed25519-signed entries`);
    for (let i = 0; i < vn; i += 2048) {
      await ledger.appendBatch(
        Array.from({ length: Math.min(2048, vn - i) }, (_, j) => ({ i: i + j, action: 'access' })),
      );
    }
    const ring = new KeyRing([ed]);
    const sample = await ledger.getEntries({ limit: 5_000 });
    const rawItems = sample.map((e) => ({
      msg: Buffer.from(e.hash),
      sig: Buffer.from(e.signature!, 'base64'),
    }));
    const raw = await repeat('raw crypto.verify Ed25519, one thread', 'sigs/s', opts.runs, () => {
      const t = performance.now();
      for (const it of rawItems) cryptoVerify(null, it.msg, ed.publicKey, it.sig);
      return rate(rawItems.length, performance.now() - t);
    });
    out.push(raw);
    const spki = ed.publicKey.export({ type: 'spki', format: 'der' });
    const threads = defaultThreads();
    const raw2 = await repeat(
      `raw crypto.verify Ed25519, ${threads} threads (as verify() uses)`,
      'sigs/s',
      opts.runs,
      () => rawVerifyThreads(threads, spki, rawItems),
    );
    out.push(withBaseline(raw2, raw));
    log(`signatures: verify() of ${vn} signed entries × ${opts.runs}`);
    const v = await repeat(
      `verify() ${vn} Ed25519-signed entries (sqlite)`,
      'entries/s',
      opts.runs,
      async () => {
        const t = performance.now();
        const r = await ledger.verify({ keys: ring, requireSignatures: 1 });
        if (!r.ok || r.signaturesChecked !== vn)
          throw new Error('signed verification failed in the benchmark');
        return rate(vn, performance.now() - t);
      },
    );
    out.push(withBaseline({ ...v, note: `${(vn / v.median).toFixed(2)} s per run` }, raw2));
    await ledger.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
