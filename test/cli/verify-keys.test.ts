/**
 * Which log key `verify` uses and what a wrong one means: --key (a verifier key or a file holding
 * one) for an auditor with a copy of the database, a verifier key in --key-file, and exit codes for
 * a key or trusted checkpoint that does not belong to the log (2) vs a checkpoint that does not
 * verify (1).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, errorLine, runCli, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
let vkey: string;
const cli = (args: string[], input?: string) => runCli(args, { cwd: dir, input });
const report = (r: CliResult) => JSON.parse(r.stdout) as { ok: boolean; assurance: string; failure: unknown };

function expectOneLineError(r: CliResult, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  expect(errorLine(r)).toMatch(/^signledger: error: /);
  expect(errorLine(r)).toMatch(pattern);
}

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('signledger-verify-keys-'));
  expect((await cli(['init', '--log-key-name', 'keys.example/log'])).code).toBe(0);
  expect((await cli(['append'], '{"n":0}\n{"n":1}\n')).code).toBe(0);
  expect((await cli(['checkpoint'])).code).toBe(0);
  expect((await cli(['append'], '{"n":2}\n')).code).toBe(0);
  const cp = await cli(['checkpoint']);
  expect(cp.code).toBe(0);
  writeFileSync(join(dir, 'trusted.txt'), cp.stdout);
  vkey = readFileSync(join(dir, 'signledger.vkey'), 'utf8').trim();
  // The auditor's copy: the database alone, no key files beside it.
  mkdirSync(join(dir, 'audit'));
  copyFileSync(join(dir, 'signledger.db'), join(dir, 'audit/copy.db'));
  copyFileSync(join(dir, 'signledger.vkey'), join(dir, 'audit-log.vkey'));
});
afterAll(() => cleanup());

describe('verify with only the verifier key', () => {
  it('--key takes the vkey or a file holding it; --key-file takes a vkey file too', async () => {
    const [inline, file, keyFile, trusted, none] = await Promise.all([
      cli(['verify', '--db', 'audit/copy.db', '--key', vkey, '--json']),
      cli(['verify', '--db', 'audit/copy.db', '--key', 'audit-log.vkey', '--json']),
      cli(['verify', '--db', 'audit/copy.db', '--key-file', 'audit-log.vkey', '--json']),
      cli([
        'verify',
        '--db',
        'audit/copy.db',
        '--key',
        'audit-log.vkey',
        '--trusted',
        'trusted.txt',
        '--json',
      ]),
      cli(['verify', '--db', 'audit/copy.db', '--json']),
    ]);
    for (const r of [inline, file, keyFile]) {
      expect(r.code, r.stderr).toBe(0);
      expect(report(r)).toMatchObject({ ok: true, assurance: 'checkpoint' });
    }
    expect(trusted.code, trusted.stderr).toBe(0);
    expect(report(trusted)).toMatchObject({ ok: true, assurance: 'trusted' });
    expect(report(none)).toMatchObject({ ok: true, assurance: 'chain' }); // no key: signatures unchecked
  });

  it('refuses a verifier key for signing, both --key and --key-file, and a bad --key', async () => {
    const [sign, both, bad, trustedNoKey] = await Promise.all([
      cli(['checkpoint', '--key-file', 'audit-log.vkey']),
      cli(['verify', '--key', vkey, '--key-file', 'signledger.key']),
      cli(['verify', '--key', 'nope.vkey']),
      cli(['verify', '--db', 'audit/copy.db', '--trusted', 'trusted.txt']),
    ]);
    expectOneLineError(
      sign,
      /wrong key: audit-log\.vkey holds a verifier key \(public\); signing needs the secret/,
    );
    expectOneLineError(both, /--key or --key-file, not both/);
    expectOneLineError(bad, /wrong key: nope\.vkey is neither a verifier key .* nor a file/);
    expectOneLineError(trustedNoKey, /missing file: no log key .*pass --key/);
  });
});
