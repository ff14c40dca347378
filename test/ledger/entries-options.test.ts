/** ledger.entries() checks its options the same way on every backend, before reading anything. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InMemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { ValidationError } from '../../src/errors.js';
import { Ledger } from '../../src/ledger/ledger.js';

const dir = mkdtempSync(join(tmpdir(), 'signledger-entries-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect(ledger: Ledger, options: object): Promise<number[]> {
  const out: number[] = [];
  for await (const e of ledger.entries(options as never)) out.push(e.index);
  return out;
}

describe.each([
  ['memory', () => new InMemoryBackend()],
  ['sqlite', () => new SQLiteBackend(join(dir, `${Math.random()}.db`))],
])('%s: entries() options', (_name, backend) => {
  it('reads the range asked for, in chunks of any size', async () => {
    const ledger = new Ledger({ backend: backend() });
    for (let i = 0; i < 5; i++) await ledger.append({ i });
    expect(await collect(ledger, {})).toEqual([0, 1, 2, 3, 4]);
    expect(await collect(ledger, { fromIndex: 1, toIndex: 3, chunkSize: 1 })).toEqual([1, 2]);
    expect(await collect(ledger, { fromIndex: 9 })).toEqual([]);
    await ledger.close();
  });

  it.each([
    { chunkSize: 0 }, // never advanced: the scan spun forever on the in-memory backend
    { chunkSize: -1 },
    { chunkSize: 2.5 },
    { fromIndex: -5 },
    { fromIndex: 'abc' },
    { fromIndex: 2.5 },
    { toIndex: Number.NaN },
    { fromindex: 1 },
  ])('refuses %o with ValidationError', async (options) => {
    const ledger = new Ledger({ backend: backend() });
    await ledger.append({ i: 0 });
    await expect(collect(ledger, options)).rejects.toBeInstanceOf(ValidationError);
    await ledger.close();
  });
});
