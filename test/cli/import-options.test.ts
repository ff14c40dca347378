/**
 * `import` options: an explicit --ledger names the imported ledger (even `default`), else the
 * bundle's own name is kept; a bundle not signed by --key fails verification (exit 1, nothing
 * imported); --no-progress.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateLogKey } from '../../src/ledger/log-key.js';
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

describe('import and the key', () => {
  it('a bundle not signed by --key fails verification: exit 1, checkpoint_invalid, nothing written', async () => {
    // As for verify-bundle, the bundle is the evidence: CLI.md's `wrong key:` (exit 2) is for keys
    // that do not belong to a database's stored checkpoints.
    const other = generateLogKey('import.example/log');
    const r = await cli(['import', 'bundle', '--db', 'other/copy.db', '--key', other.verifierKey]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^signledger: error: checkpoint_invalid: the bundle checkpoint does not verify with key import\.example\/log/,
    );
    expect(existsSync(join(dir, 'other'))).toBe(false);
  });
});

describe('import --no-progress', () => {
  const PRELOAD = resolve(import.meta.dirname, '../fixtures/fake-tty-interrupt.mjs');
  const onTerminal = (args: string[]) =>
    runCli(args, { cwd: dir, preload: PRELOAD, env: { FAKE_TTY_SIGNAL: 'none' } });

  it('draws no progress bar on a terminal; without it the bar is drawn', async () => {
    const [quiet, bar] = await Promise.all([
      onTerminal(['import', 'bundle', '--db', 'q.db', '--key', vkey, '--no-progress']),
      onTerminal(['import', 'bundle', '--db', 'p.db', '--key', vkey]),
    ]);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(bar.code, bar.stderr).toBe(0);
    expect(bar.stderr).toContain('\x1b[?25l');
  });
});
