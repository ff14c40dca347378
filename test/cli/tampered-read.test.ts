/**
 * Reading commands that meet a stored row they cannot decode (edited behind the ledger's back) have
 * found tampering: exit 1, as `verify` would, with one error line that points to `signledger verify`
 * for the report (not to the library's verify()).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLine, runCli, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
const cli = (args: string[], input?: string) => runCli(args, { cwd: dir, input });

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('signledger-tampered-read-'));
  expect((await cli(['init', '--log-key-name', 'tampered.example/log'])).code).toBe(0);
  expect((await cli(['append'], '{"a":1}\n{"a":2}\n')).code).toBe(0);
  const db = new Database(join(dir, 'signledger.db'));
  db.prepare("UPDATE sl_default_entries SET body = 'not a commitment' WHERE idx = 1").run();
  db.close();
});
afterAll(() => cleanup());

describe('a malformed stored row', () => {
  it('tail, list and show exit 1 with one line naming `signledger verify`; verify reports it', async () => {
    const [tail, list, show, json, verify] = await Promise.all([
      cli(['tail']),
      cli(['list']),
      cli(['show', '1']),
      cli(['show', '1', '--json']),
      cli(['verify', '--json']),
    ]);
    for (const r of [tail, list, show]) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(errorLine(r)).toBe(
        'signledger: error: malformed_entry: entry 1 cannot be read: its stored row is malformed (run `signledger verify` for details)',
      );
    }
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'INTEGRITY_FAILED' } });
    expect(verify.code).toBe(1);
    expect(JSON.parse(verify.stdout).failure).toMatchObject({ index: 1 });
  });
});
