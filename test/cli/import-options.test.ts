/**
 * `import` options: an explicit --ledger names the imported ledger (even `default`), else the
 * bundle's own name is kept.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
let vkey: string;
const cli = (args: string[], input?: string) => runCli(args, { cwd: dir, input });

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('signledger-import-options-'));
  const src = ['--db', 'src.db', '--ledger', 'payments'];
  const init = await cli(['init', ...src, '--log-key-name', 'import.example/log', '--json']);
  expect(init.code, init.stderr).toBe(0);
  vkey = (JSON.parse(init.stdout) as { verifierKey: string }).verifierKey;
  expect((await cli(['append', ...src], '{"n":0}\n{"n":1}\n')).code).toBe(0);
  expect((await cli(['export', ...src, '--checkpoint', '--out', 'bundle'])).code).toBe(0);
});
afterAll(() => cleanup());

const ledgerOf = (stdout: string) => (JSON.parse(stdout) as { ledger: string }).ledger;

describe('import --ledger', () => {
  it('an explicit --ledger wins, `default` included; without one the bundle keeps its name', async () => {
    const [named, explicitDefault, inUrl, implicit] = await Promise.all([
      cli(['import', 'bundle', '--db', 'a.db', '--ledger', 'mirror', '--key', vkey, '--json']),
      cli(['import', 'bundle', '--db', 'b.db', '--ledger', 'default', '--key', vkey, '--json']),
      cli([
        'import',
        'bundle',
        '--db',
        `sqlite://${join(dir, 'c.db')}?ledger=default`,
        '--key',
        vkey,
        '--json',
      ]),
      cli(['import', 'bundle', '--db', 'd.db', '--key', vkey, '--json']),
    ]);
    for (const r of [named, explicitDefault, inUrl, implicit]) expect(r.code, r.stderr).toBe(0);
    expect(ledgerOf(named.stdout)).toBe('mirror');
    // Before, `--ledger default` was taken for "no --ledger" and the ledger was named "payments".
    expect(ledgerOf(explicitDefault.stdout)).toBe('default');
    expect(ledgerOf(inUrl.stdout)).toBe('default');
    expect(ledgerOf(implicit.stdout)).toBe('payments');
    const [b, d] = await Promise.all([
      cli(['stats', '--db', 'b.db', '--json']),
      cli(['stats', '--db', 'd.db', '--ledger', 'payments', '--json']),
    ]);
    expect(JSON.parse(b.stdout)).toMatchObject({ name: 'default', totalEntries: 2 });
    expect(JSON.parse(d.stdout)).toMatchObject({ name: 'payments', totalEntries: 2 });
  });
});
