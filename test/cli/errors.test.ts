/**
 * Every error path through the real binary: a one-line cause on stderr, a non-zero exit, and
 * nothing written. Plus `verify` on a tampered database (exit 1) and the built dist/cli.mjs.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateLogKey } from '../../src/ledger/log-key.js';
import { type CliResult, DIST_CLI, errorLine, runCli, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
const cli = (args: string[], input?: string) => runCli(args, { cwd: dir, input });
const dbHash = () =>
  createHash('sha256')
    .update(readFileSync(join(dir, 'signledger.db')))
    .digest('hex');

function expectOneLineError(r: CliResult, pattern: RegExp, code = 2): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  expect(errorLine(r)).toMatch(/^signledger: error: /);
  expect(errorLine(r)).toMatch(pattern);
}

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('signledger-errors-'));
  const init = await cli(['init', '--log-key-name', 'errors.example/log']);
  expect(init.code).toBe(0);
  const app = await cli(['append'], '{"n":0}\n{"n":1}\n{"n":2}\n');
  expect(app.code).toBe(0);
  expect((await cli(['checkpoint'])).code).toBe(0);
  expect((await cli(['export', '--out', 'bundle'])).code).toBe(0);
});
afterAll(() => cleanup());

describe('errors: one line, non-zero exit, nothing written', () => {
  it('--require-signatures without --keys is refused: nobody could check the signatures', async () => {
    const [v, vb] = await Promise.all([
      cli(['verify', '--require-signatures', '1']),
      cli(['verify-bundle', 'bundle', '--key', 'signledger.vkey', '--require-signatures', '1']),
    ]);
    expectOneLineError(v, /--require-signatures needs --keys/);
    expectOneLineError(vb, /--require-signatures needs --keys/);
  });

  it('missing files: database, key file, signing key, trusted checkpoint, keyring, bundle', async () => {
    const results = await Promise.all([
      cli(['tail', '--db', 'nope.db']),
      cli(['checkpoint', '--key-file', 'nope.key']),
      cli(['append', '--sign-key', 'nope.pem'], '{"a":1}\n'),
      cli(['verify', '--trusted', 'nope.txt']),
      cli(['verify', '--keys', 'nope.json']),
      cli(['import', 'nope', '--db', 'fresh.db', '--key', 'signledger.vkey']),
    ]);
    const patterns = [
      /missing file: no ledger database at nope\.db/,
      /missing file: key file nope\.key does not exist/,
      /missing file: signing key nope\.pem does not exist/,
      /missing file: trusted checkpoint nope\.txt does not exist/,
      /missing file: keyring nope\.json does not exist/,
      /missing file: bundle nope does not exist/,
    ];
    results.forEach((r, i) => {
      expectOneLineError(r, patterns[i]!);
    });
    expect(existsSync(join(dir, 'nope.db'))).toBe(false);
    expect(existsSync(join(dir, 'fresh.db'))).toBe(false);
  });

  it('a locked database: append gives up after --lock-timeout, reads still work', async () => {
    const holder = new Database(join(dir, 'signledger.db'));
    holder.exec('BEGIN IMMEDIATE');
    try {
      const before = dbHash();
      const [app, tail] = await Promise.all([
        cli(['append', '--lock-timeout', '200'], '{"blocked":true}\n'),
        cli(['tail', '-n', '1']),
      ]);
      expectOneLineError(app, /database .*signledger\.db is locked by another process .*--lock-timeout/);
      expect(tail.code).toBe(0);
      expect(dbHash()).toBe(before);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  });

  it('wrong keys: another log key, a public key for signing, a keyring that is not one, a bad vkey', async () => {
    const other = generateLogKey('errors.example/log');
    writeFileSync(join(dir, 'other.key'), `${other.signerKey}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'other.vkey'), `${other.verifierKey}\n`);
    writeFileSync(join(dir, 'garbage.key'), 'hello\n');
    const kg = await cli(['keygen', '--out', 'keys', '--json']);
    const pub = (JSON.parse(kg.stdout) as { publicKey: string }).publicKey;
    writeFileSync(join(dir, 'not-a-keyring.json'), '{"version":2}');
    const before = dbHash();
    const [cp, garbage, sign, ring, vb, verifyOther] = await Promise.all([
      cli(['checkpoint', '--key-file', 'other.key']),
      cli(['checkpoint', '--key-file', 'garbage.key']),
      cli(['append', '--sign-key', pub], '{"a":1}\n'),
      cli(['verify', '--keys', 'not-a-keyring.json']),
      cli(['verify-bundle', 'bundle', '--key', 'other.vkey']),
      cli(['verify', '--key-file', 'other.key', '--json']),
    ]);
    expectOneLineError(
      cp,
      /wrong key: the checkpoints of ledger "default" in .*signledger\.db are not signed by the log key errors\.example\/log\+[0-9a-f]{8}/,
    );
    expectOneLineError(garbage, /wrong key: garbage\.key does not hold a signledger log key/);
    expectOneLineError(sign, /wrong key: .* public key/);
    expectOneLineError(ring, /wrong key: not-a-keyring\.json is not a keyring/);
    // A bundle (evidence) that does not verify with the pinned key is a verification failure (exit 1).
    expect(vb.code).toBe(1);
    expect(vb.stdout).toMatch(/checkpoint_invalid/);
    // verify with a key that none of the stored checkpoints names: the wrong key (exit 2), as checkpoint says.
    expect(verifyOther.code).toBe(2);
    expect(JSON.parse(verifyOther.stdout)).toMatchObject({ ok: false, error: { code: 'WRONG_KEY' } });
    expect(errorLine(verifyOther)).toMatch(/^signledger: error: wrong key: none of the 2 stored checkpoint/);
    expect(dbHash()).toBe(before);
  });

  it('malformed bundles: import verifies first and writes nothing; manifest errors are exit 2', async () => {
    cpSync(join(dir, 'bundle'), join(dir, 'tampered'), { recursive: true });
    const lines = readFileSync(join(dir, 'tampered/entries.jsonl'), 'utf8').replace(
      '{\\"n\\":1}',
      '{\\"n\\":9}',
    );
    writeFileSync(join(dir, 'tampered/entries.jsonl'), lines);
    cpSync(join(dir, 'bundle'), join(dir, 'broken'), { recursive: true });
    writeFileSync(join(dir, 'broken/manifest.json'), '{"format":"something-else"}');
    const [tampered, broken, nokey] = await Promise.all([
      cli(['import', 'tampered', '--db', 'imp1.db', '--key', 'signledger.vkey']),
      cli(['import', 'broken', '--db', 'imp2.db', '--key', 'signledger.vkey']),
      cli(['verify-bundle', 'bundle']),
    ]);
    expectOneLineError(tampered, /data_mismatch: entry 1: data does not match its committed digest/, 1);
    expectOneLineError(broken, /malformed bundle: manifest\.json is not a signledger-bundle manifest/);
    expect(existsSync(join(dir, 'imp1.db'))).toBe(false);
    expect(existsSync(join(dir, 'imp2.db'))).toBe(false);
    expect(nokey.code).toBe(2);
    expect(nokey.stderr).toMatch(/required option '--key <vkey>'/);
  });

  it('bad input appends nothing: invalid JSON, a non-object, duplicate keys, empty stdin, bad --metadata', async () => {
    const before = dbHash();
    const results = await Promise.all([
      cli(['append'], '{"ok":1}\n{"broken":\n'),
      cli(['append'], '{"ok":1}\n[1,2]\n'),
      cli(['append'], '{"a":1,"a":2}\n'),
      cli(['append'], ''),
      cli(['append', '--metadata', 'nope'], '{"a":1}\n'),
      cli(['append', '--json'], '{"broken"\n'),
    ]);
    expectOneLineError(results[0]!, /stdin line 2: invalid JSON/);
    expectOneLineError(results[1]!, /stdin line 2: expected a JSON object/);
    expectOneLineError(results[2]!, /duplicate property name "a"/);
    expectOneLineError(results[3]!, /nothing to append/);
    expectOneLineError(results[4]!, /--metadata: invalid JSON/);
    const j = JSON.parse(results[5]!.stdout) as { ok: boolean; error: { code: string; message: string } };
    expect(j).toMatchObject({ ok: false, error: { code: 'NOT_JSON' } });
    expect(dbHash()).toBe(before);
  });

  it('usage errors exit 2: unknown command, unknown option, missing argument, bad numbers', async () => {
    const results = await Promise.all([
      cli(['frobnicate']),
      cli(['tail', '--bogus']),
      cli(['show']),
      cli(['tail', '-n', 'many']),
      cli(['show', '99']),
      cli(['keygen', '--type', 'dsa', '--out', 'k2']),
    ]);
    for (const r of results) expect(r.code, r.stderr).toBe(2);
    expect(results[0]!.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(results[1]!.stderr).toMatch(/unknown option '--bogus'/);
    expect(results[2]!.stderr).toMatch(/missing required argument/);
    expectOneLineError(results[3]!, /-n must be an integer/);
    expectOneLineError(results[4]!, /no entry at index 99/);
    expectOneLineError(results[5]!, /--type must be one of ed25519, rsa, ecdsa/);
  });
});

describe('usage errors found by the option parser', () => {
  it('are one `signledger: error:` line, JSON under --json, exit 2', async () => {
    const [unknown, missingOption, missingArg, unknownOption, json, jsonMissingArg] = await Promise.all([
      cli(['frobnicate']),
      cli(['export']),
      cli(['show']),
      cli(['stats', '--bogus']),
      cli(['export', '--json']),
      cli(['--json', 'import']),
    ]);
    expectOneLineError(
      unknown,
      /^signledger: error: unknown command 'frobnicate' \(run with --help for usage\)$/,
    );
    expectOneLineError(missingOption, /^signledger: error: required option '--out <dir>' not specified/);
    expectOneLineError(missingArg, /^signledger: error: missing required argument 'id\|index'/);
    expectOneLineError(unknownOption, /^signledger: error: unknown option '--bogus'/);
    expectOneLineError(json, /required option '--out <dir>' not specified/);
    expect(JSON.parse(json.stdout)).toEqual({
      ok: false,
      error: { code: 'USAGE', message: "required option '--out <dir>' not specified" },
    });
    expect(JSON.parse(jsonMissingArg.stdout)).toMatchObject({ ok: false, error: { code: 'USAGE' } });
    for (const r of [unknown, missingOption, missingArg, unknownOption]) expect(r.stdout).toBe('');
  });

  it('a suggestion stays on the same line', async () => {
    const r = await cli(['verif']);
    expectOneLineError(r, /unknown command 'verif' \(Did you mean verify\?\)/);
  });
});

describe('verify on a tampered database', () => {
  it('exits 1 and names the entry, the kind and what was expected', async () => {
    cpSync(join(dir, 'signledger.db'), join(dir, 'tampered.db'));
    const db = new Database(join(dir, 'tampered.db'));
    db.prepare('UPDATE sl_default_entries SET data = \'{"n":42}\' WHERE idx = 1').run();
    db.close();
    const [human, json] = await Promise.all([
      cli(['verify', '--db', 'tampered.db']),
      cli(['verify', '--db', 'tampered.db', '--json']),
    ]);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/FAILED/);
    expect(human.stdout).toMatch(
      /✗ data_mismatch at entry 1 .*: entry 1: data does not match its committed digest/,
    );
    expect(human.stdout).toMatch(/expected: [0-9a-f]{64}\n {4}actual: {3}[0-9a-f]{64}/);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      assurance: 'none',
      failure: { kind: 'data_mismatch', index: 1 },
    });
  });
});

describe('the built binary', () => {
  it.skipIf(!existsSync(DIST_CLI))('dist/cli.mjs runs (skipped until `npm run build`)', async () => {
    const [help, stats] = await Promise.all([
      runCli(['--help'], { cwd: dir, script: DIST_CLI }),
      runCli(['stats', '--json'], { cwd: dir, script: DIST_CLI }),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('verify-bundle');
    expect(JSON.parse(stats.stdout)).toMatchObject({ totalEntries: 3 });
  });
  if (!existsSync(DIST_CLI))
    console.info(`note: ${DIST_CLI} is not built; run \`npm run build\` to test the built binary`);
});
