/**
 * What the commands print: append --quiet, the export progress bar, the counters of the
 * verification report, and the tree size of a proof that failed.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateLogKey } from '../../src/ledger/log-key.js';
import { MAIN, runCli, TSX, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
const cli = (args: string[], input?: string) => runCli(args, { cwd: dir, input });
const events = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ n: from + i })).join('\n') + '\n';

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('signledger-output-'));
  expect((await cli(['init', '--log-key-name', 'output.example/log'])).code).toBe(0);
});
afterAll(() => cleanup());

describe('append --quiet', () => {
  it('prints one summary line (a summary object with --json) instead of a line per entry', async () => {
    const loud = await cli(['append'], events(3));
    expect(loud.code).toBe(0);
    expect(loud.stdout.trim().split('\n')).toHaveLength(3); // the default stays one line per entry
    const [quiet, quietJson] = [
      await cli(['append', '--quiet'], events(500, 3)),
      await cli(['append', '-q', '--json'], events(2, 503)),
    ];
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).toMatch(/^appended 500 entries \(#3\.\.#502\); last hash [0-9a-f]{64}\n$/);
    expect(quietJson.code, quietJson.stderr).toBe(0);
    expect(JSON.parse(quietJson.stdout)).toMatchObject({
      appended: 2,
      firstIndex: 503,
      lastIndex: 504,
      signatures: 0,
    });
  });
});

describe('export progress', () => {
  it.skipIf(!existsSync('/usr/bin/script'))(
    'export shows a progress bar on a terminal, like verify; none on a pipe or with --no-progress',
    async () => {
      expect((await cli(['checkpoint'])).code).toBe(0);
      const cmd = `${JSON.stringify(process.execPath)} --import ${TSX} ${JSON.stringify(MAIN)} export --out tty-bundle`;
      const out = execFileSync('/usr/bin/script', ['-qec', cmd, '/dev/null'], { cwd: dir, encoding: 'utf8' });
      expect(out).toMatch(/exporting \[.*\] 100% \| 505\/505 entries \| \d+\/s \| ETA/);
      expect(out).toContain('exported 505 entries');
      const noBar = execFileSync('/usr/bin/script', ['-qec', `${cmd}-2 --no-progress`, '/dev/null'], {
        cwd: dir,
        encoding: 'utf8',
      });
      expect(noBar).not.toContain('exporting [');
      const piped = await cli(['export', '--out', 'piped-bundle']);
      expect(piped.code).toBe(0);
      expect(piped.stderr).toBe('');
    },
  );
});

describe('the verification report says what was checked', () => {
  it('checkpoint roots compared vs checkpoint signatures checked (or not, without a log key)', async () => {
    expect((await cli(['append', '-q'], events(1, 505))).code).toBe(0);
    expect((await cli(['checkpoint'])).code).toBe(0);
    mkdirSync(join(dir, 'copy'));
    copyFileSync(join(dir, 'signledger.db'), join(dir, 'copy/signledger.db'));
    const [withKey, noKey] = await Promise.all([
      cli(['verify']),
      cli(['verify', '--db', 'copy/signledger.db']),
    ]);
    expect(withKey.code, withKey.stderr).toBe(0);
    expect(withKey.stdout).toMatch(
      /^ {2}checkpoints: +2 root\(s\) compared with the recomputed tree; signatures checked with the log key output\.example\/log\+[0-9a-f]{8}$/m,
    );
    expect(noKey.code, noKey.stderr).toBe(0);
    expect(noKey.stdout).toMatch(
      /^ {2}checkpoints: +2 root\(s\) compared with the recomputed tree; signatures not checked \(no log key: pass --key\)$/m,
    );
    expect(noKey.stdout).toContain('not checked: stored checkpoint signatures');
    // No counter claims checkpoints were "checked" when their signatures were not.
    expect(noKey.stdout).not.toMatch(/checkpoints checked/);
    expect(noKey.stdout).toMatch(/^ {2}entry signatures: +0 checked$/m);
  });
});

describe('a proof that fails', () => {
  it('checked with the wrong key, does not claim a tree of size 0', async () => {
    const p = await cli(['prove', '42', '--out', 'entry-42.tlog-proof']);
    expect(p.code, p.stderr).toBe(0);
    const other = generateLogKey('output.example/log');
    const [human, json, right] = await Promise.all([
      cli(['verify-bundle', 'entry-42.tlog-proof', '--key', other.verifierKey]),
      cli(['verify-bundle', 'entry-42.tlog-proof', '--key', other.verifierKey, '--json']),
      cli(['verify-bundle', 'entry-42.tlog-proof', '--key', 'signledger.vkey']),
    ]);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(
      /^proof: FAILED\n {2}entry 42; the checkpoint \(not verified\) says tree size 506\n/,
    );
    expect(human.stdout).not.toMatch(/size 0/);
    expect(human.stdout).toMatch(/✗ checkpoint_invalid/);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, index: 42, size: null });
    expect(right.code).toBe(0);
    expect(right.stdout).toMatch(
      /^proof: VALID\n {2}entry 42 in tree of size 506 \(origin output\.example\/log\)\n/,
    );
  });
});

describe('read-only commands on a copy of the database (as docs/CLI.md describes)', () => {
  it('leave the .db byte-identical; SQLite may add an empty -wal and a -shm beside it', async () => {
    mkdirSync(join(dir, 'ro'));
    copyFileSync(join(dir, 'signledger.db'), join(dir, 'ro/signledger.db'));
    const hash = () =>
      createHash('sha256')
        .update(readFileSync(join(dir, 'ro/signledger.db')))
        .digest('hex');
    const before = hash();
    for (const args of [['stats'], ['tail', '-n', '2'], ['verify', '--key', 'signledger.vkey']]) {
      const r = await cli([...args, '--db', 'ro/signledger.db']);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(hash()).toBe(before);
    const wal = join(dir, 'ro/signledger.db-wal');
    if (existsSync(wal)) expect(statSync(wal).size).toBe(0);
  });
});
