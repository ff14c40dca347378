/**
 * Which log key `verify` uses and what a wrong one means: --key (a verifier key or a file holding
 * one) for an auditor with a copy of the database, a verifier key in --key-file, and exit codes for
 * a key or trusted checkpoint that does not belong to the log (2) vs a checkpoint that does not
 * verify (1).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateLogKey } from '../../src/ledger/log-key.js';
import { parseNote, signNote } from '../../src/note/signed-note.js';
import { type CliResult, expectOneLineError, runCli, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
let vkey: string;
const cli = (args: string[], input?: string) => runCli(args, { cwd: dir, input });
const report = (r: CliResult) => JSON.parse(r.stdout) as { ok: boolean; assurance: string; failure: unknown };

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
    const [sign, both, bad, trustedNoKey, missingVb, missingImport, notVkey] = await Promise.all([
      cli(['checkpoint', '--key-file', 'audit-log.vkey']),
      cli(['verify', '--key', vkey, '--key-file', 'signledger.key']),
      cli(['verify', '--key', 'nope.vkey']),
      cli(['verify', '--db', 'audit/copy.db', '--trusted', 'trusted.txt']),
      cli(['verify-bundle', 'audit', '--key', 'missing.vkey']),
      cli(['import', 'audit', '--db', 'never/copy.db', '--key', 'missing.vkey']),
      cli(['verify', '--key', 'keys.example/log+0000000z+AAAA']),
    ]);
    expectOneLineError(
      sign,
      /wrong key: audit-log\.vkey holds a verifier key \(public\); signing needs the secret/,
    );
    expectOneLineError(both, /--key or --key-file, not both/);
    // A --key that is no verifier key and no file is a file that is missing, not a wrong key.
    expectOneLineError(bad, /missing file: verifier key file nope\.vkey does not exist/);
    expectOneLineError(missingVb, /missing file: verifier key file missing\.vkey does not exist/);
    expectOneLineError(missingImport, /missing file: verifier key file missing\.vkey does not exist/);
    expectOneLineError(notVkey, /wrong key: not a C2SP verifier key/);
    expectOneLineError(trustedNoKey, /missing file: no log key .*pass --key/);
  });
});

describe('exit codes: input errors (2) vs verification failures (1)', () => {
  const other = generateLogKey('keys.example/log'); // same name, another key: another key id
  const elsewhere = generateLogKey('elsewhere.example/log');
  /** Copy the database with every stored checkpoint note passed through `edit`. */
  const copyWithNotes = (name: string, edit: (note: string) => string) => {
    copyFileSync(join(dir, 'signledger.db'), join(dir, name));
    const db = new Database(join(dir, name));
    const rows = db.prepare('SELECT size, note FROM sl_default_checkpoints').all() as {
      size: number;
      note: string;
    }[];
    for (const r of rows)
      db.prepare('UPDATE sl_default_checkpoints SET note = ? WHERE size = ?').run(edit(r.note), r.size);
    db.close();
  };
  const resign = (note: string) => signNote(parseNote(note).text, [other.signer]);

  it('a --trusted file that is not a checkpoint is an input error, for verify and verify-bundle', async () => {
    writeFileSync(join(dir, 'badcp.json'), '{"checkpoint":"no"}\n');
    expect((await cli(['export', '--out', 'bundle'])).code).toBe(0);
    const [v, vb] = await Promise.all([
      cli(['verify', '--trusted', 'badcp.json']),
      cli(['verify-bundle', 'bundle', '--key', vkey, '--trusted', 'badcp.json', '--json']),
    ]);
    expectOneLineError(
      v,
      /malformed checkpoint: the trusted checkpoint badcp\.json is not a signed C2SP checkpoint/,
    );
    expect(vb.code).toBe(2);
    expect(JSON.parse(vb.stdout)).toMatchObject({ ok: false, error: { code: 'NOT_CHECKPOINT' } });
  });

  it('a key that no stored checkpoint names is the wrong key (exit 2), as for checkpoint', async () => {
    writeFileSync(join(dir, 'other.vkey'), `${other.verifierKey}\n`);
    writeFileSync(join(dir, 'elsewhere.vkey'), `${elsewhere.verifierKey}\n`);
    const id = vkey.split('+').slice(0, 2).join('+').replace(/[./+]/g, '\\$&');
    const [sameName, otherName, json] = await Promise.all([
      cli(['verify', '--key', 'other.vkey']),
      cli(['verify', '--db', 'audit/copy.db', '--key', elsewhere.verifierKey]),
      cli(['verify', '--key', 'other.vkey', '--json']),
    ]);
    expectOneLineError(
      sameName,
      new RegExp(
        `wrong key: none of the 3 stored checkpoint\\(s\\) in .*signledger\\.db is signed by the log key keys\\.example/log\\+[0-9a-f]{8} \\(from other\\.vkey\\); they are signed by ${id}\\.`,
      ),
    );
    expectOneLineError(
      otherName,
      /wrong key: .* log key elsewhere\.example\/log\+[0-9a-f]{8} \(from --key\)/,
    );
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'WRONG_KEY' } });
  });

  it('a trusted checkpoint not signed by the log key is the wrong key or file (exit 2)', async () => {
    const trustedText = readFileSync(join(dir, 'trusted.txt'), 'utf8');
    writeFileSync(join(dir, 'trusted-other.txt'), resign(trustedText));
    const [v, vb] = await Promise.all([
      cli(['verify', '--trusted', 'trusted-other.txt']),
      cli(['verify-bundle', 'bundle', '--key', vkey, '--trusted', 'trusted-other.txt']),
    ]);
    expectOneLineError(
      v,
      /wrong key: the trusted checkpoint trusted-other\.txt is not signed by the log key/,
    );
    expectOneLineError(
      vb,
      /wrong key: the trusted checkpoint trusted-other\.txt is not signed by the log key/,
    );
  });

  it('a stored checkpoint that names the key but does not verify stays tampering (exit 1)', async () => {
    // One character of the signature changed, the key id (first 4 bytes) kept.
    copyWithNotes('badsig.db', (note) => {
      const i = note.length - 6;
      return note.slice(0, i) + (note[i] === 'A' ? 'B' : 'A') + note.slice(i + 1);
    });
    // Every checkpoint re-signed by another key while a trusted checkpoint pins the log's key.
    copyWithNotes('resigned.db', resign);
    const [badsig, resigned, resignedNoTrust] = await Promise.all([
      cli(['verify', '--db', 'badsig.db', '--key', vkey, '--json']),
      cli(['verify', '--db', 'resigned.db', '--key', vkey, '--trusted', 'trusted.txt', '--json']),
      cli(['verify', '--db', 'resigned.db', '--key', vkey]),
    ]);
    expect(badsig.code, badsig.stderr).toBe(1);
    expect(JSON.parse(badsig.stdout).failure).toMatchObject({ kind: 'checkpoint_invalid' });
    expect(resigned.code, resigned.stderr).toBe(1);
    expect(JSON.parse(resigned.stdout).failure).toMatchObject({ kind: 'checkpoint_invalid' });
    // Without a trusted checkpoint nothing tells a wrong key from replaced checkpoints: exit 2,
    // and the message says both.
    expectOneLineError(
      resignedNoTrust,
      /wrong key: .*if it is the right key, the stored checkpoints were replaced/,
    );
  });
});
