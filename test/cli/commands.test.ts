/**
 * Every command through the real binary, in one temp directory, in the order a user would run them.
 * Each test builds on the previous one's state.
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, MAIN, runCli, TSX, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
const cli = (args: string[], input?: string, env?: Record<string, string>) =>
  runCli(args, { cwd: dir, input, env });
const fileHash = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const json = (r: CliResult) => {
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as never;
};

beforeAll(() => {
  ({ dir, cleanup } = tempDir());
});
afterAll(() => cleanup());

describe('signledger CLI, command by command', () => {
  let vkey: string;

  it('--help lists every command with examples; --version prints the version', async () => {
    const [help, sub, version] = await Promise.all([
      cli(['--help']),
      cli(['verify-bundle', '--help']),
      cli(['--version']),
    ]);
    expect(help.code).toBe(0);
    for (const c of [
      'init',
      'append',
      'tail',
      'list',
      'show',
      'stats',
      'verify',
      'checkpoint',
      'prove',
      'export',
      'verify-bundle',
      'import',
      'keygen',
    ]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    }
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('Exit codes:');
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('$ signledger verify-bundle evidence/ --key');
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('init creates ./signledger.db, a 0600 secret key file and the verifier key', async () => {
    const r = await cli(['init', '--log-key-name', 'audit.example.com/payments', '--json']);
    expect(r.code).toBe(0);
    const out = json(r) as { verifierKey: string; origin: string; ledgerId: string; keyFile: string };
    expect(out.origin).toBe('audit.example.com/payments');
    expect(out.verifierKey).toMatch(/^audit\.example\.com\/payments\+[0-9a-f]{8}\+/);
    vkey = out.verifierKey;
    expect(statSync(join(dir, 'signledger.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'signledger.key'), 'utf8')).toMatch(
      /^PRIVATE\+KEY\+audit\.example\.com\/payments\+/,
    );
    expect(readFileSync(join(dir, 'signledger.vkey'), 'utf8').trim()).toBe(vkey);
    expect(statSync(join(dir, 'signledger.db')).isFile()).toBe(true);
    // A second init refuses and keeps the existing key.
    const again = await cli(['init']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/refusing to overwrite .*signledger\.key/);
    expect(readFileSync(join(dir, 'signledger.vkey'), 'utf8').trim()).toBe(vkey);
  });

  it('append reads one JSON object per line from stdin, with --metadata', async () => {
    const r = await cli(
      ['append', '--json', '--metadata', '{"source":"test"}'],
      '{"action":"login","user":"alice"}\n\n{"action":"login","user":"bob"}\n',
    );
    expect(r.code).toBe(0);
    const rows = json(r) as { index: number; id: string; hash: string }[];
    expect(rows.map((x) => x.index)).toEqual([0, 1]);
    const human = await cli(['append'], '{"action":"logout","user":"alice"}\r\n');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^#2 {2}[0-9a-f-]{36} {2}[0-9a-f]{64}\n$/);
  });

  it('tail, list --where, show and stats read the log (and leave the database byte-identical)', async () => {
    const before = fileHash(join(dir, 'signledger.db'));
    const [tail, tailJson, list, show, showId, stats] = await Promise.all([
      cli(['tail', '-n', '2']),
      cli(['tail', '-n', '1', '--json']),
      cli(['list', '--where', 'data.user=alice', '--where', 'metadata.source=test', '--json']),
      cli(['show', '1']),
      cli(['show', '1', '--json']),
      cli(['stats', '--json']),
    ]);
    expect(tail.code).toBe(0);
    expect(tail.stdout.trim().split('\n')).toHaveLength(2);
    expect(tail.stdout).toMatch(/^#1 .*"user":"bob"/m);
    expect((json(tailJson) as { index: number }[]).map((e) => e.index)).toEqual([2]);
    const listed = json(list) as { index: number; data: { user: string } }[];
    expect(listed.map((e) => e.index)).toEqual([0]);
    expect(show.stdout).toContain('index:        1');
    const entry = json(showId) as { id: string; index: number };
    const byId = await cli(['show', entry.id, '--json']);
    expect((json(byId) as { index: number }).index).toBe(1);
    const s = json(stats) as { totalEntries: number; hashAlgorithm: string };
    expect(s.totalEntries).toBe(3);
    expect(s.hashAlgorithm).toBe('sha256');
    const range = await cli([
      'list',
      '--from',
      '2000-01-01',
      '--to',
      '2999-01-01',
      '--limit',
      '2',
      '--desc',
      '--json',
    ]);
    expect((json(range) as { index: number }[]).map((e) => e.index)).toEqual([2, 1]);
    expect(fileHash(join(dir, 'signledger.db'))).toBe(before);
  });

  it('checkpoint prints a signed C2SP checkpoint; verify reports it (exit 0) and writes nothing', async () => {
    const cp = await cli(['checkpoint']);
    expect(cp.code).toBe(0);
    expect(cp.stdout).toMatch(
      /^audit\.example\.com\/payments\n3\n[A-Za-z0-9+/]+=*\n\n— audit\.example\.com\/payments /,
    );
    const before = fileHash(join(dir, 'signledger.db'));
    const [v, vj] = await Promise.all([cli(['verify']), cli(['verify', '--json'])]);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('VALID');
    expect(v.stdout).toContain('assurance:           checkpoint');
    expect(v.stderr).toBe(''); // no progress bar when stderr is not a TTY
    const report = json(vj) as { ok: boolean; entriesChecked: number; assurance: string };
    expect(report).toMatchObject({ ok: true, entriesChecked: 3, assurance: 'checkpoint' });
    // Trusted checkpoint from outside the store.
    const trusted = join(dir, 'trusted-3.txt');
    (await import('node:fs')).writeFileSync(trusted, cp.stdout);
    const vt = await cli(['verify', '--trusted', trusted, '--json']);
    expect((json(vt) as { assurance: string }).assurance).toBe('trusted');
    expect(fileHash(join(dir, 'signledger.db'))).toBe(before);
  });

  it('keygen makes ed25519, ecdsa and rsa keys plus a keyring; append --sign-key signs; verify --keys checks', async () => {
    const [ed, ec, rsa] = [
      await cli(['keygen', '--type', 'ed25519', '--out', 'keys', '--json']),
      await cli(['keygen', '--type', 'ecdsa', '--out', 'keys', '--json']),
      await cli(['keygen', '--type', 'rsa', '--bits', '2048', '--out', 'keys', '--json']),
    ];
    for (const r of [ed, ec, rsa]) expect(r.code).toBe(0);
    const k = json(ed) as { privateKey: string; publicKey: string; keyId: string; keyring: string };
    expect(statSync(join(dir, k.privateKey)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, k.publicKey), 'utf8')).toContain('BEGIN PUBLIC KEY');
    const ring = JSON.parse(readFileSync(join(dir, 'keys/keyring.json'), 'utf8')) as {
      keys: { keyId: string }[];
    };
    expect(ring.keys).toHaveLength(3);
    expect((json(ec) as { algorithm: string }).algorithm).toBe('ecdsa-p256-sha256');
    expect((json(rsa) as { algorithm: string }).algorithm).toMatch(/^rsa-/);

    const signed = await cli(
      ['append', '--sign-key', k.privateKey, '--json'],
      '{"action":"transfer","amount":10}\n',
    );
    expect(signed.code).toBe(0);
    expect((json(signed) as { signatures: number }[])[0]!.signatures).toBe(1);
    const [ok, strict] = await Promise.all([
      cli(['verify', '--keys', 'keys/keyring.json', '--json']),
      cli(['verify', '--keys', 'keys/keyring.json', '--require-signatures', '1', '--json']),
    ]);
    expect(ok.code).toBe(0);
    expect((json(ok) as { signaturesChecked: number }).signaturesChecked).toBe(1);
    // Entries 0..2 are unsigned: requiring a signature fails verification (exit 1).
    expect(strict.code).toBe(1);
    expect((JSON.parse(strict.stdout) as { failure: { kind: string; index: number } }).failure).toMatchObject(
      { kind: 'signature_missing', index: 0 },
    );
  });

  it('prove writes a C2SP tlog-proof with the entry and checkpoint; verify-bundle checks it offline', async () => {
    const stale = await cli(['prove', '3']);
    expect(stale.code).toBe(2);
    expect(stale.stderr).toMatch(/newer than the latest checkpoint .*signledger checkpoint/);
    const p = await cli(['prove', '3', '--checkpoint', '--out', 'entry-3.tlog-proof']);
    expect(p.code).toBe(0);
    const text = readFileSync(join(dir, 'entry-3.tlog-proof'), 'utf8');
    expect(text).toMatch(
      /^c2sp\.org\/tlog-proof@v1\nextra [A-Za-z0-9+/=]+\nindex 3\n([A-Za-z0-9+/]{43}=\n)+\naudit\.example\.com\/payments\n4\n/,
    );
    const stdout = await cli(['prove', '0']);
    expect(stdout.stdout).toMatch(/^c2sp\.org\/tlog-proof@v1\n/);
    const [v, vj] = await Promise.all([
      cli(['verify-bundle', 'entry-3.tlog-proof', '--key', vkey, '--keys', 'keys/keyring.json']),
      cli(['verify-bundle', 'entry-3.tlog-proof', '--key', 'signledger.vkey', '--json']),
    ]);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('proof: VALID');
    expect(v.stdout).toContain('1 entry signature(s) verified');
    const r = json(vj) as { ok: boolean; size: number; entry: { data: unknown } };
    expect(r).toMatchObject({ ok: true, size: 4, entry: { data: { action: 'transfer', amount: 10 } } });
  });

  it('export writes a bundle; verify-bundle proves it; import reproduces the same root', async () => {
    await cli(['append'], '{"action":"after-checkpoint"}\n');
    const before = fileHash(join(dir, 'signledger.db'));
    const e = await cli(['export', '--out', 'evidence']);
    expect(e.code).toBe(0);
    expect(e.stderr).toMatch(/1 entries after the checkpoint are not in the bundle/);
    expect(fileHash(join(dir, 'signledger.db'))).toBe(before); // export is read-only by default
    expect(readdirSync(join(dir, 'evidence')).sort()).toEqual([
      'checkpoint',
      'entries.jsonl',
      'log.vkey',
      'manifest.json',
    ]);
    const lines = readFileSync(join(dir, 'evidence/entries.jsonl'), 'utf8').split('\n');
    expect(lines).toHaveLength(5); // 4 entries + the final newline
    const notEmpty = await cli(['export', '--out', 'evidence']);
    expect(notEmpty.code).toBe(2);
    expect(notEmpty.stderr).toMatch(/not empty/);

    const vb = await cli([
      'verify-bundle',
      'evidence',
      '--key',
      vkey,
      '--keys',
      'keys/keyring.json',
      '--json',
    ]);
    expect(vb.code).toBe(0);
    const rep = json(vb) as {
      ok: boolean;
      entriesChecked: number;
      checkpoint: { size: number; rootHash: string };
      signaturesChecked: number;
    };
    expect(rep).toMatchObject({ ok: true, entriesChecked: 4, signaturesChecked: 1 });

    const imp = await cli([
      'import',
      'evidence',
      '--db',
      'sqlite:./imported/copy.db',
      '--key',
      vkey,
      '--json',
    ]);
    expect(imp.code).toBe(0);
    const ir = json(imp) as { rootHash: string; size: number; ledgerId: string };
    expect(ir.size).toBe(4);
    expect(ir.rootHash).toBe(rep.checkpoint.rootHash);
    // The imported ledger verifies, keeps its identity and its checkpoint, with the vkey written beside it.
    const [iv, is] = await Promise.all([
      cli(['verify', '--db', 'imported/copy.db', '--json']),
      cli(['stats', '--db', 'imported/copy.db', '--json']),
    ]);
    expect(json(iv)).toMatchObject({ ok: true, assurance: 'checkpoint', size: 4 });
    expect(json(is)).toMatchObject({
      rootHash: rep.checkpoint.rootHash,
      latestCheckpointSize: 4,
      ledgerId: ir.ledgerId,
    });
    expect(readFileSync(join(dir, 'imported/signledger.vkey'), 'utf8').trim()).toBe(vkey);

    const full = await cli(['export', '--checkpoint', '--out', 'evidence-full', '--json']);
    expect(json(full) as { size: number; notIncluded: number }).toMatchObject({ size: 5, notIncluded: 0 });

    // A later bundle of the same log extends the copy (an interrupted import resumes the same way):
    // the 4 entries present are checked against the bundle's first 4, then only the 5th is written.
    const more = await cli([
      'import',
      'evidence-full',
      '--db',
      'sqlite:./imported/copy.db',
      '--key',
      vkey,
      '--json',
    ]);
    expect(more.code).toBe(0);
    expect(json(more)).toMatchObject({
      size: 5,
      resumedAt: 4,
      rootHash: (json(full) as { rootHash: string }).rootHash,
    });
    const again = await cli(['import', 'evidence-full', '--db', 'sqlite:./imported/copy.db', '--key', vkey]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/imported 5 entries .*resumed: the first 5 were already there/);
    const mv = await cli(['verify', '--db', 'imported/copy.db', '--json']);
    expect(json(mv)).toMatchObject({ ok: true, assurance: 'checkpoint', size: 5 });
    // A store whose first entries are not the bundle's (here one row edited) is refused, untouched.
    const forked = await cli(['import', 'evidence', '--db', 'sqlite:./forked/copy.db', '--key', vkey]);
    expect(forked.code).toBe(0);
    const fdb = new Database(join(dir, 'forked/copy.db'));
    fdb.prepare(`UPDATE sl_default_entries SET data = '{"action":"edited"}' WHERE idx = 2`).run();
    fdb.close();
    const forkedBefore = fileHash(join(dir, 'forked/copy.db'));
    const refused = await cli(['import', 'evidence-full', '--db', 'sqlite:./forked/copy.db', '--key', vkey]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/holds an entry 2 that differs from the bundle's/);
    expect(fileHash(join(dir, 'forked/copy.db'))).toBe(forkedBefore);
    // The older bundle cannot shrink it.
    const older = await cli(['import', 'evidence', '--db', 'sqlite:./imported/copy.db', '--key', vkey]);
    expect(older.code).not.toBe(0);
    expect(older.stderr).toMatch(/already holds a ledger/);
  });

  it('SIGNLEDGER_URL and --db pick the store; --ledger picks a ledger inside it', async () => {
    const [env, other] = await Promise.all([
      cli(['stats', '--json'], undefined, { SIGNLEDGER_URL: 'sqlite:./imported/copy.db' }),
      cli(['stats', '--db', 'signledger.db', '--ledger', 'other']),
    ]);
    expect((json(env) as { totalEntries: number }).totalEntries).toBe(5); // the copy, extended above
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/no ledger named "other"/);
  });

  it.skipIf(!existsSync('/usr/bin/script'))(
    'verify shows a progress bar with rate and ETA when stderr is a terminal',
    () => {
      // util-linux `script` runs the command on a pseudo-terminal.
      const cmd = `${JSON.stringify(process.execPath)} --import ${TSX} ${JSON.stringify(MAIN)} verify`;
      const out = execFileSync('/usr/bin/script', ['-qec', cmd, '/dev/null'], { cwd: dir, encoding: 'utf8' });
      expect(out).toMatch(/verifying \[.*\] 100% \| 5\/5 entries \| \d+\/s \| ETA/);
      expect(out).toContain('VALID');
    },
  );
});
