/**
 * Reading a whole SQLite log (verify() on the calling thread, entries()) runs on a synchronous
 * driver: without a pause it would hold the event loop for the whole run, stalling a server's
 * requests while autoVerify works. Both let timers in while they read.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { Ledger } from '../../src/ledger/ledger.js';

const dir = mkdtempSync(join(tmpdir(), 'signledger-loop-'));
let ledger: Ledger;
beforeAll(async () => {
  ledger = new Ledger({ backend: new SQLiteBackend({ path: join(dir, 'l.db'), durability: 'normal' }) });
  for (let i = 0; i < 40_000; i += 5_000)
    await ledger.appendBatch(Array.from({ length: 5_000 }, (_, j) => ({ i: i + j, note: 'x'.repeat(40) })));
}, 60_000);
afterAll(async () => {
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

/** How many times a 1 ms interval fired while `work` ran. */
async function ticksDuring(work: () => Promise<unknown>): Promise<number> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return ticks;
}

it('verify() on the calling thread lets timers run while it reads', async () => {
  const ticks = await ticksDuring(async () =>
    expect((await ledger.verify({ parallel: false })).ok).toBe(true),
  );
  expect(ticks).toBeGreaterThan(1);
});

it('entries() lets timers run while it reads', async () => {
  const ticks = await ticksDuring(async () => {
    let n = 0;
    for await (const _ of ledger.entries()) n++;
    expect(n).toBe(40_000);
  });
  expect(ticks).toBeGreaterThan(1);
});
