/** verify() checks the stored head's frontier and the root of size-0 checkpoints. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { generateLogKey } from '../../src/ledger/log-key.js';
import { signCheckpoint } from '../../src/note/checkpoint.js';

const dir = mkdtempSync(join(tmpdir(), 'signledger-frontier-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('verify() and the head', () => {
  it('reports a head whose frontier was edited (the next append would build on it)', async () => {
    const path = join(dir, 'frontier.db');
    const ledger = await Ledger.open({ backend: new SQLiteBackend(path) });
    await ledger.appendBatch(Array.from({ length: 7 }, (_, i) => ({ i })));
    await ledger.close();
    const db = new Database(path);
    const { frontier } = db.prepare('SELECT frontier FROM sl_default_head WHERE one = 1').get() as {
      frontier: Buffer;
    };
    expect(frontier.length).toBe(3 * 32); // 7 leaves: subtrees of 4, 2 and 1
    const edited = Buffer.from(frontier);
    edited[40] = (edited[40] ?? 0) ^ 1;
    db.prepare('UPDATE sl_default_head SET frontier = ? WHERE one = 1').run(edited);
    db.close();
    const again = await Ledger.open({ backend: new SQLiteBackend(path) });
    for (const parallel of [false, 2] as const) {
      const r = await again.verify({ parallel, parallelThreshold: 1 });
      expect(r.ok).toBe(false);
      expect(r.failure?.kind).toBe('head_mismatch');
      expect(r.failure?.message).toMatch(/frontier/);
    }
    await again.close();
  });

  it('reports a signed size-0 checkpoint whose root is not the empty tree', async () => {
    const logKey = generateLogKey('log.example/zero');
    const ledger = new Ledger({ logKey });
    await ledger.append({ a: 1 });
    const bad = signCheckpoint(
      { origin: 'log.example/zero', size: 0, rootHash: Buffer.alloc(32, 9), extensions: [] },
      logKey.signer!,
    );
    const r = await ledger.verify({ trusted: bad });
    expect(r.ok).toBe(false);
    expect(r.failure?.kind).toBe('inconsistent_checkpoint');
    const good = signCheckpoint(
      {
        origin: 'log.example/zero',
        size: 0,
        rootHash: Buffer.from('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'hex'),
        extensions: [],
      },
      logKey.signer!,
    );
    expect((await ledger.verify({ trusted: good })).ok).toBe(true);
    await ledger.close();
  });
});
