/**
 * docs/FORMAT.md claims an independent verifier can be written from it alone. One was:
 * tools/independent-verifier/signledger_verify.py (Python standard library + the openssl CLI, written
 * from the docs without reading src/). This file builds real ledgers with the library, runs that
 * verifier on them, and checks that it accepts the genuine evidence and rejects tampered copies —
 * bundles, proof files, consistency proofs, and SQLite files in both row layouts. Where the library's
 * own offline verifier sees the same evidence, its verdict is compared too.
 */
import { execFileSync } from 'node:child_process';
import { constants, sign as cryptoSign } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { exportBundle } from '../../src/cli/bundle-export.js';
import { Compressor } from '../../src/compression/index.js';
import { ECDSASigner, Ed25519Signer, KeyRing, RSASigner } from '../../src/crypto/signatures/index.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { generateLogKey } from '../../src/ledger/log-key.js';
import { cosignCheckpoint, generateWitnessKey } from '../../src/note/index.js';
import { formatProofFile, proofExtra } from '../../src/verify/bundle/proof-file.js';
import { verifyBundle } from '../../src/verify/bundle.js';

const VERIFIER = resolve(import.meta.dirname, '../../tools/independent-verifier/signledger_verify.py');
const ORIGIN = 'audit.example.com/independent';

let dir: string;
const logKey = generateLogKey(ORIGIN);
const ed = new Ed25519Signer();
const others = {
  p256: new ECDSASigner({ curve: 'P-256' }),
  p384: new ECDSASigner({ curve: 'P-384' }),
  p521: new ECDSASigner({ curve: 'P-521' }),
  k1: new ECDSASigner({ curve: 'secp256k1' }),
  pss: new RSASigner({ keySize: 2048 }),
  pkcs1: new RSASigner({ keySize: 2048, padding: 'pkcs1' }),
};
const witness = generateWitnessKey('witness.example');
const stranger = generateWitnessKey('stranger.example');
let keyArgs: string[];
let cp1Text: string;
let cp2Text: string;

// Values whose RFC 8785 form is easy to get wrong: ECMAScript number formatting, UTF-16 key order,
// string escapes (U+2028 is written raw, controls as \u00xx), -0, integers past 2^53, long fractions.
const TRICKY = {
  n: [
    0,
    -0,
    1e21,
    1e-7,
    123456789012345680000,
    0.1,
    5e-324,
    1.7976931348623157e308,
    2 ** 53 + 2,
    -1.5e-10,
    1e20,
    0.1 + 0.2,
    1 / 3,
    -123.456e-300,
  ],
  s: '\u0000\u001f\u007f\u2028 ☕ 😀 "\\/',
  '😀k': 1,
  '｡k': 2,
  é: 3,
  b: [true, false, null, {}, []],
  nested: { z: 1, a: { y: [1, { b: 2, a: 1 }] } },
};

interface PyResult {
  code: number;
  out: string;
}

function py(args: string[]): PyResult {
  try {
    const out = execFileSync('python3', [VERIFIER, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { code: 0, out };
  } catch (e) {
    const x = e as { status: number | null; stdout?: string; stderr?: string };
    if (typeof x.status !== 'number') throw e;
    return { code: x.status, out: `${x.stdout ?? ''}${x.stderr ?? ''}` };
  }
}

function expectOk(r: PyResult): string {
  expect(r.code, r.out).toBe(0);
  expect(r.out).toMatch(/^ok: /);
  return r.out;
}

function expectFail(r: PyResult, kind: string, at: number | string): void {
  expect(r.code, r.out).toBe(1);
  const where = typeof at === 'number' ? `entry ${at}` : at;
  expect(r.out.trim()).toMatch(new RegExp(`^FAIL ${kind} at ${where}: `));
  expect(r.out.trim().split('\n')).toHaveLength(1);
}

const p = (name: string) => join(dir, name);

function requireTool(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'pipe' });
  } catch (e) {
    throw new Error(
      `the independent-verifier test needs \`${cmd}\` on PATH (CI machines have it): ${(e as Error).message}`,
    );
  }
}

beforeAll(async () => {
  requireTool('python3', ['-c', 'import sys; assert sys.version_info >= (3, 11), sys.version']);
  requireTool('openssl', ['version']);
  dir = mkdtempSync(join(tmpdir(), 'signledger-indep-'));
  writeFileSync(p('log.vkey'), logKey.verifierKey);
  writeFileSync(p('ed.pem'), ed.exportPublicKeyPem());
  keyArgs = ['--key', p('ed.pem')];
  for (const [name, s] of Object.entries(others)) {
    writeFileSync(p(`${name}.pem`), s.exportPublicKeyPem());
    keyArgs.push('--key', p(`${name}.pem`));
  }

  // Ledger A: whole-text SQLite, every entry signed (Ed25519 by default, the other six algorithms once).
  const openA = () =>
    Ledger.open({
      backend: new SQLiteBackend({ path: p('a.db') }),
      logKey,
      enableSignatures: true,
      signer: ed,
    });
  let a = await openA();
  await a.append(TRICKY, { metadata: TRICKY }); // 0
  for (const [name, s] of Object.entries(others)) await a.append({ signedBy: name }, { signer: s }); // 1-6
  await a.append({ user: 'alice', action: 'login' }, { metadata: { compliance: 'SOX' } }); // 7
  const erased = await a.append({ user: 'carol', ssn: '078-05-1120' }); // 8
  await a.redact(erased.id, { reason: 'GDPR Art. 17' }); // 9: the redaction record
  await a.append({ user: 'bob', action: 'logout' }); // 10
  const cp1 = await a.checkpoint();
  cp1Text = cp1.text;
  writeFileSync(p('cp1'), cp1.text);
  await a.close();
  copySqlite('a.db', 'a-early.db'); // a consistent older state: what a truncation looks like
  copySqlite('a.db', 'a-fork.db');
  a = await openA();
  await a.appendBatch([{ n: 11 }, { n: 12 }, { n: 13 }]); // 11-13
  const cp2 = await a.checkpoint();
  cp2Text = cp2.text;
  writeFileSync(p('cp2'), cp2.text);
  writeFileSync(p('cp2-witnessed'), cosignCheckpoint(cp2.text, witness.signer, 1_767_225_600));
  await exportBundle(a, p('bundle'), cp2, logKey.verifierKey);
  const proof = await a.proveInclusion(7, cp2);
  writeFileSync(
    p('entry7.tlog-proof'),
    formatProofFile({
      index: 7,
      path: proof.path.map((h) => Buffer.from(h, 'hex')),
      extra: proofExtra((await a.backend.getByIndex(7))!, 'sha256'),
      checkpoint: cp2.text,
    }),
  );
  writeFileSync(p('consistency.json'), JSON.stringify(await a.proveConsistency(cp1, cp2)));
  await a.close();

  // A fork of ledger A after entry 10: same ledger id and key, another history from index 11.
  const fork = await Ledger.open({ backend: new SQLiteBackend({ path: p('a-fork.db') }), logKey });
  await fork.appendBatch([
    { n: 11, forked: true },
    { n: 12, forked: true },
    { n: 13, forked: true },
  ]);
  await exportBundle(fork, p('bundle-fork'), await fork.checkpoint(), logKey.verifierKey);
  await fork.close();

  // Ledger B: compact compressed SQLite rows (zlib with a trained dictionary), past one full tile.
  const b = await Ledger.open({
    backend: new SQLiteBackend({ path: p('b.db') }),
    logKey,
    compression: new Compressor({ algorithm: 'zlib', dictionary: { trainAfter: 60 } }),
  });
  for (let round = 0; round < 3; round++) {
    await b.appendBatch(
      Array.from({ length: 100 }, (_, i) => ({ round, i, text: 'the quick brown fox '.repeat(1 + (i % 4)) })),
      round === 1 ? { metadata: { batch: round, note: 'métadonnées' } } : {},
    );
  }
  const target = (await b.getEntries({ offset: 150, limit: 1 }))[0]!;
  await b.redact(target.id, { reason: 'erasure' }); // 300
  await b.append(TRICKY, { metadata: TRICKY }); // 301
  await b.checkpoint();
  await b.close();

  // Ledger C: another entry hash algorithm; events signed one by one, so the redaction record is not.
  const c = await Ledger.open({
    backend: new SQLiteBackend({ path: p('c.db') }),
    logKey,
    hashAlgorithm: 'sha3-512',
  });
  const [, second] = await c.appendBatch([{ k: 1 }, { k: 2 }, { k: 3 }], { signer: ed });
  await c.redact(second!.id, { reason: 'erasure' });
  await exportBundle(c, p('bundle-sha3'), await c.checkpoint(), logKey.verifierKey);
  await c.close();

  // Ledger D: zstd frames, which the Python standard library cannot decode.
  const d = await Ledger.open({
    backend: new SQLiteBackend({ path: p('d.db') }),
    compression: new Compressor({ algorithm: 'zstd' }),
  });
  await d.append({ text: 'zstd compresses this repetitive text well. '.repeat(20) });
  await d.close();
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function copySqlite(from: string, to: string): string {
  copyFileSync(p(from), p(to));
  if (existsSync(p(`${from}-wal`))) copyFileSync(p(`${from}-wal`), p(`${to}-wal`));
  return p(to);
}

/** A copy of the SQLite file edited with raw SQL, as someone with file access would. */
function tamperedDb(from: string, name: string, sql: (db: Database.Database) => void): string {
  const file = copySqlite(from, name);
  const db = new Database(file);
  sql(db);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return file;
}

/** A copy of the bundle whose entries.jsonl lines are edited (kept canonical: JSON.stringify keeps order). */
function tamperedBundle(
  name: string,
  edit: (lines: Record<string, unknown>[]) => Record<string, unknown>[],
): string {
  const to = p(name);
  cpSync(p('bundle'), to, { recursive: true });
  const lines = readFileSync(join(to, 'entries.jsonl'), 'utf8')
    .split('\n')
    .slice(0, -1)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  writeFileSync(
    join(to, 'entries.jsonl'),
    edit(lines)
      .map((l) => `${JSON.stringify(l)}\n`)
      .join(''),
  );
  return to;
}

const bundleArgs = (b: string, ...more: string[]) => [b, '--log-key', p('log.vkey'), ...more];
const libraryVerdict = async (b: string, withKeys = false) =>
  verifyBundle(b, {
    verifierKey: logKey.verifierKey,
    ...(withKeys ? { keys: new KeyRing([ed, ...Object.values(others)]) } : {}),
  });

/** The library's own verdict on a SQLite file (its first failure), to compare with the Python one. */
async function libraryDb(
  file: string,
  o: { trusted?: string; keys?: boolean } = {},
): Promise<{ kind?: string; index?: number }> {
  const ledger = await Ledger.open({
    backend: new SQLiteBackend({ path: file }),
    logKey: logKey.verifierKey,
  });
  try {
    const r = await ledger.verify({
      ...(o.keys === false ? {} : { keys: new KeyRing([ed, ...Object.values(others)]) }),
      ...(o.trusted ? { trusted: o.trusted } : {}),
    });
    return r.ok ? {} : { kind: r.failure!.kind, index: r.failure!.index };
  } finally {
    await ledger.close();
  }
}

describe('independent Python verifier: FORMAT.md itself', () => {
  it('reproduces every value of the worked example (§7) from its inputs', () => {
    const doc = readFileSync(resolve(import.meta.dirname, '../../docs/FORMAT.md'), 'utf8');
    const values = JSON.parse(py(['--worked-example']).out) as string[];
    expect(values).toHaveLength(13);
    for (const v of values) expect(doc).toContain(v);
  });
});

describe('independent Python verifier: evidence bundles', () => {
  it('accepts the genuine bundle: every algorithm, redaction, trusted checkpoint, witness cosignature', () => {
    const b = tamperedBundle('bundle-witnessed', (l) => l);
    copyFileSync(p('cp2-witnessed'), join(b, 'checkpoint'));
    const out = expectOk(
      py(
        bundleArgs(
          b,
          ...keyArgs,
          '--require-signatures',
          '1',
          '--trusted',
          p('cp1'),
          '--witness',
          witness.verifierKey,
        ),
      ),
    );
    expect(out).toContain('ok: 14 entries, 14 signatures verified');
    expect(out).toContain('redacted: 8,');
    expect(out).toContain('assurance: trusted');
    const witnessed = py(
      bundleArgs(
        b,
        '--witness',
        witness.verifierKey,
        '--witness',
        stranger.verifierKey,
        '--witness-quorum',
        '1',
      ),
    );
    expect(expectOk(witnessed)).toContain('assurance: witnessed');
    // Without keys nothing is claimed about signatures, but the leaves still cover them.
    expect(expectOk(py(bundleArgs(p('bundle'))))).toContain(
      '0 signatures verified, 14 by unknown keys not checked',
    );
  });

  it("follows the manifest's entry hash algorithm, which the entries prove", async () => {
    const out = expectOk(py(bundleArgs(p('bundle-sha3'), '--key', p('ed.pem'), '--require-signatures', '1')));
    expect(out).toContain('ok: 4 entries, 3 signatures verified');
    expect(out).toContain('redacted: 1,');
    // Required signatures are per event: the library accepts the unsigned redaction record too.
    const lib = await verifyBundle(p('bundle-sha3'), {
      verifierKey: logKey.verifierKey,
      keys: new KeyRing([ed]),
      requireSignatures: 1,
    });
    expect(lib.ok).toBe(true);
    const b = p('bundle-sha3-lie');
    cpSync(p('bundle-sha3'), b, { recursive: true });
    const m = readFileSync(join(b, 'manifest.json'), 'utf8');
    writeFileSync(
      join(b, 'manifest.json'),
      m.replace('"hashAlgorithm":"sha3-512"', '"hashAlgorithm":"sha512"'),
    );
    expectFail(py(bundleArgs(b)), 'hash_mismatch', 0);
    expect((await verifyBundle(b, { verifierKey: logKey.verifierKey })).ok).toBe(false);
  });

  it('rejects a line whose id is not the committed one, and half-erased data', async () => {
    const id = tamperedBundle('line-id', (l) => {
      l[4]!.id = l[5]!.id;
      return l;
    });
    expectFail(py(bundleArgs(id)), 'column_mismatch', 4);
    const half = tamperedBundle('half-erased', (l) => {
      l[4]!.salt = null;
      return l;
    });
    // FORMAT.md §6 step 3: one of data and salt NULL is data_mismatch, for both verifiers.
    expectFail(py(bundleArgs(half)), 'data_mismatch', 4);
    expect((await libraryVerdict(half)).failure).toMatchObject({ kind: 'data_mismatch', index: 4 });
  });

  it('rejects a changed data byte', async () => {
    const b = tamperedBundle('data-byte', (l) => {
      l[7]!.data = (l[7]!.data as string).replace('alice', 'alicf');
      return l;
    });
    expectFail(py(bundleArgs(b)), 'data_mismatch', 7);
    expect((await libraryVerdict(b)).failure).toMatchObject({ kind: 'data_mismatch', index: 7 });
  });

  it('rejects a signature swapped in from another entry, and a stripped one', async () => {
    const swapped = tamperedBundle('sig-swap', (l) => {
      l[10]!.signatures = l[7]!.signatures; // same key, signature over entry 7's hash
      return l;
    });
    expectFail(py(bundleArgs(swapped, ...keyArgs)), 'signature_invalid', 10);
    expect((await libraryVerdict(swapped, true)).failure).toMatchObject({
      kind: 'signature_invalid',
      index: 10,
    });
    // Without keys the swap still changes the leaf, hence the root.
    expectFail(py(bundleArgs(swapped)), 'tree_mismatch', 13);

    const stripped = tamperedBundle('sig-strip', (l) => {
      l[3]!.signatures = null;
      return l;
    });
    expectFail(py(bundleArgs(stripped, ...keyArgs, '--require-signatures', '1')), 'signature_missing', 3);
    expectFail(py(bundleArgs(stripped)), 'tree_mismatch', 13);
  });

  it('rejects a signature by a key outside the given ones, and an RSA-PSS salt other than 32 bytes', async () => {
    expectFail(py(bundleArgs(p('bundle'), '--key', p('ed.pem'))), 'key_unknown', 1);
    const lib = await verifyBundle(p('bundle'), { verifierKey: logKey.verifierKey, keys: new KeyRing([ed]) });
    expect(lib.failure).toMatchObject({ kind: 'key_unknown', index: 1 });
    // Entry 5 is signed with RSA-PSS; re-sign its hash with a 20-byte salt (valid PSS, wrong parameters).
    const b = tamperedBundle('pss-salt', (l) => {
      const [rec] = JSON.parse(l[5]!.signatures as string) as Array<Record<string, string>>;
      expect(rec!.algorithm).toBe('rsa-pss-sha256');
      const value = cryptoSign('sha256', Buffer.from(l[5]!.hash as string), {
        key: others.pss.exportPrivateKeyPem(),
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 20,
      }).toString('base64');
      l[5]!.signatures = JSON.stringify([{ ...rec, value }]);
      return l;
    });
    expectFail(py(bundleArgs(b, ...keyArgs)), 'signature_invalid', 5);
    expect((await libraryVerdict(b, true)).failure).toMatchObject({ kind: 'signature_invalid', index: 5 });
  });

  it('rejects a bundle truncated below its checkpoint', async () => {
    const b = tamperedBundle('truncated', (l) => l.slice(0, -1));
    expectFail(py(bundleArgs(b)), 'truncated', 13);
    expect((await libraryVerdict(b)).ok).toBe(false);
    // A last line without its newline (an interrupted copy) is refused, not read.
    const cut = tamperedBundle('no-final-newline', (l) => l);
    const text = readFileSync(join(cut, 'entries.jsonl'), 'utf8');
    writeFileSync(join(cut, 'entries.jsonl'), text.slice(0, -1));
    expectFail(py(bundleArgs(cut)), 'malformed_entry', 13);
    expect((await libraryVerdict(cut)).ok).toBe(false);
  });

  it('rejects a reordered pair of entries, with or without renumbered lines', async () => {
    const swap = (l: Record<string, unknown>[]) => {
      [l[11], l[12]] = [l[12]!, l[11]!];
      return l;
    };
    const plain = tamperedBundle('reorder', swap);
    expectFail(py(bundleArgs(plain)), 'gap', 11);
    // Same kind; FORMAT.md §6 does not say which index a gap names: the library names the index it
    // found (12), this verifier the position where it was expected (11).
    expect((await libraryVerdict(plain)).failure).toMatchObject({ kind: 'gap', index: 12 });
    const renumbered = tamperedBundle('reorder-renumbered', (l) => {
      swap(l);
      l[11]!.index = 11;
      l[12]!.index = 12;
      return l;
    });
    expectFail(py(bundleArgs(renumbered)), 'reorder', 11);
    expect((await libraryVerdict(renumbered)).failure).toMatchObject({ kind: 'reorder', index: 11 });
  });

  it('rejects an entry spliced in from a fork (same ledger, same key, another history)', async () => {
    const forkLines = readFileSync(join(p('bundle-fork'), 'entries.jsonl'), 'utf8').split('\n');
    const b = tamperedBundle('spliced', (l) => {
      l[12] = JSON.parse(forkLines[12]!) as Record<string, unknown>;
      return l;
    });
    expectFail(py(bundleArgs(b)), 'broken_link', 12);
    expect((await libraryVerdict(b)).failure).toMatchObject({ kind: 'broken_link', index: 12 });
    // The fork's own bundle is valid under the same key: only a trusted checkpoint tells them apart.
    expectOk(py(bundleArgs(p('bundle-fork'))));
    expectFail(py(bundleArgs(p('bundle-fork'), '--trusted', p('cp2'))), 'tree_mismatch', 13);
  });

  it('rejects erased data without a redaction record', async () => {
    const b = tamperedBundle('unrecorded', (l) => {
      l[10]!.data = null;
      l[10]!.salt = null;
      return l;
    });
    expectFail(py(bundleArgs(b)), 'redaction_unrecorded', 10);
    expect((await libraryVerdict(b)).failure).toMatchObject({ kind: 'redaction_unrecorded', index: 10 });
  });

  it('rejects forged checkpoints and a manifest that lies', async () => {
    // Signed by another key that claims the log's name.
    const forger = generateLogKey(ORIGIN);
    const forgerLedger = await Ledger.open({
      backend: new SQLiteBackend({ path: p('forger.db') }),
      logKey: forger,
    });
    await forgerLedger.append({ forged: true });
    const forgedCp = await forgerLedger.checkpoint();
    await forgerLedger.close();
    const b1 = tamperedBundle('forged-key', (l) => l);
    writeFileSync(join(b1, 'checkpoint'), forgedCp.text);
    expectFail(py(bundleArgs(b1)), 'checkpoint_invalid', 'checkpoint');
    expect((await libraryVerdict(b1)).ok).toBe(false);
    // The genuine signature over an edited size line.
    const b2 = tamperedBundle('forged-size', (l) => l.slice(0, -1));
    writeFileSync(join(b2, 'checkpoint'), cp2Text.replace(/\n14\n/, '\n13\n'));
    expectFail(py(bundleArgs(b2)), 'checkpoint_invalid', 'checkpoint');
    // The origin the auditor expects.
    expectFail(
      py(bundleArgs(p('bundle'), '--origin', 'audit.example.com/other')),
      'checkpoint_invalid',
      'checkpoint',
    );
    // The pinned key is the auditor's: a right bundle under a wrong key fails.
    expectFail(py([p('bundle'), '--log-key', forger.verifierKey]), 'checkpoint_invalid', 'checkpoint');
    // A required witness that did not cosign.
    expectFail(
      py(bundleArgs(p('bundle'), '--witness', stranger.verifierKey, '--witness-quorum', '1')),
      'checkpoint_invalid',
      'checkpoint',
    );
    // The manifest is unsigned; its claims must match the checkpoint.
    const b3 = tamperedBundle('manifest-lie', (l) => l);
    const m = readFileSync(join(b3, 'manifest.json'), 'utf8');
    writeFileSync(join(b3, 'manifest.json'), m.replace('"size":14', '"size":15'));
    expectFail(py(bundleArgs(b3)), 'checkpoint_invalid', 'bundle');
    // A checkpoint genuinely signed by the log key, but of another history (a fork).
    const fork = await Ledger.open({ backend: new SQLiteBackend({ path: p('fork.db') }), logKey });
    await fork.append({ user: 'mallory' });
    await fork.append({ user: 'mallory', again: true });
    writeFileSync(p('fork-cp'), (await fork.checkpoint()).text);
    await fork.close();
    expectFail(py(bundleArgs(p('bundle'), '--trusted', p('fork-cp'))), 'tree_mismatch', 1);
  });
});

describe('independent Python verifier: proof files and consistency proofs', () => {
  it('accepts the genuine inclusion proof and rejects a changed path or entry', () => {
    const f = p('entry7.tlog-proof');
    expect(expectOk(py([f, '--log-key', p('log.vkey'), ...keyArgs]))).toContain('1 signatures verified');
    const text = readFileSync(f, 'utf8');
    const lines = text.split('\n');
    const hashLine = lines.findIndex((l, i) => i > 2 && l.length === 44);
    const flipped = Buffer.from(lines[hashLine]!, 'base64');
    flipped[0]! ^= 1;
    lines[hashLine] = flipped.toString('base64');
    writeFileSync(p('bad-path.tlog-proof'), lines.join('\n'));
    expectFail(py([p('bad-path.tlog-proof'), '--log-key', p('log.vkey')]), 'tree_mismatch', 7);
    const extra = JSON.parse(Buffer.from(text.split('\n')[1]!.slice(6), 'base64').toString('utf8'));
    extra.entry.data = extra.entry.data.replace('login', 'logon');
    const edited = text.replace(
      /^extra .*$/m,
      `extra ${Buffer.from(JSON.stringify(extra)).toString('base64')}`,
    );
    writeFileSync(p('bad-entry.tlog-proof'), edited);
    expectFail(py([p('bad-entry.tlog-proof'), '--log-key', p('log.vkey')]), 'data_mismatch', 7);
  });

  it('accepts the genuine consistency proof and rejects a changed one', () => {
    const args = (f: string) => [
      f,
      '--log-key',
      p('log.vkey'),
      '--old-checkpoint',
      p('cp1'),
      '--checkpoint',
      p('cp2'),
    ];
    expect(expectOk(py(args(p('consistency.json'))))).toContain('size 14 is consistent with size 11');
    const proof = JSON.parse(readFileSync(p('consistency.json'), 'utf8')) as { path: string[] };
    expect(proof.path.length).toBeGreaterThan(1);
    proof.path.reverse();
    writeFileSync(p('consistency-bad.json'), JSON.stringify(proof));
    expectFail(py(args(p('consistency-bad.json'))), 'tree_mismatch', 'checkpoint');
    // The fork's checkpoint (size 2, same key) is not an ancestor of the real tree.
    const fork = [
      p('consistency.json'),
      '--log-key',
      p('log.vkey'),
      '--old-checkpoint',
      p('fork-cp'),
      '--checkpoint',
      p('cp2'),
    ];
    expectFail(py(fork), 'tree_mismatch', 'checkpoint');
  });
});

describe('independent Python verifier: SQLite files', () => {
  const dbArgs = (f: string, ...more: string[]) => [f, '--log-key', p('log.vkey'), ...more];

  it('accepts the genuine whole-text file with keys and a trusted checkpoint', () => {
    const out = expectOk(
      py(dbArgs(p('a.db'), ...keyArgs, '--require-signatures', '1', '--checkpoint', p('cp2'))),
    );
    expect(out).toContain('ok: 14 entries, 14 signatures verified');
    expect(out).toContain('redacted: 8,');
    expect(out).toContain('assurance: trusted');
  });

  it('detects a truncated (rolled back) file only against a later trusted checkpoint', async () => {
    expect(expectOk(py(dbArgs(p('a-early.db'))))).toContain('ok: 11 entries');
    expectFail(py(dbArgs(p('a-early.db'), '--checkpoint', p('cp2'))), 'truncated', 11);
    expect(await libraryDb(p('a-early.db'), { trusted: cp2Text })).toMatchObject({ kind: 'truncated' });
  });

  it('rejects edited rows: a data byte, a swapped signature, a reordered pair, a row past the head', async () => {
    const data = tamperedDb('a.db', 'a-data.db', (db) =>
      db.prepare("UPDATE sl_default_entries SET data = replace(data, 'bob', 'bod') WHERE idx = 10").run(),
    );
    expectFail(py(dbArgs(data)), 'data_mismatch', 10);
    const ts = tamperedDb('a.db', 'a-ts.db', (db) =>
      db.prepare('UPDATE sl_default_entries SET ts = ts + 1000 WHERE idx = 3').run(),
    );
    expectFail(py(dbArgs(ts)), 'column_mismatch', 3);
    expect(await libraryDb(ts)).toEqual({ kind: 'column_mismatch', index: 3 });
    const id = tamperedDb('a.db', 'a-id.db', (db) =>
      db
        .prepare("UPDATE sl_default_entries SET id = 'a1b2c3d4-0000-4000-8000-000000000000' WHERE idx = 4")
        .run(),
    );
    expectFail(py(dbArgs(id)), 'column_mismatch', 4);
    expect(await libraryDb(id)).toEqual({ kind: 'column_mismatch', index: 4 });
    expect(await libraryDb(data)).toEqual({ kind: 'data_mismatch', index: 10 });
    const sigs = tamperedDb('a.db', 'a-sigs.db', (db) =>
      db
        .prepare(
          'UPDATE sl_default_entries SET sigs = (SELECT sigs FROM sl_default_entries WHERE idx = 10) WHERE idx = 7',
        )
        .run(),
    );
    expectFail(py(dbArgs(sigs, ...keyArgs)), 'signature_invalid', 7);
    // Without keys: the leaf changed, so tile node (0, 7) is wrong, before the checkpoint at size 11.
    expectFail(py(dbArgs(sigs)), 'tree_mismatch', 7);
    expect(await libraryDb(sigs, { keys: false })).toEqual({ kind: 'tree_mismatch', index: 7 });
    expect(await libraryDb(sigs)).toEqual({ kind: 'signature_invalid', index: 7 });
    const reorder = tamperedDb('a.db', 'a-reorder.db', (db) => {
      db.prepare('UPDATE sl_default_entries SET idx = 99 WHERE idx = 11').run();
      db.prepare('UPDATE sl_default_entries SET idx = 11 WHERE idx = 12').run();
      db.prepare('UPDATE sl_default_entries SET idx = 12 WHERE idx = 99').run();
    });
    expectFail(py(dbArgs(reorder)), 'reorder', 11);
    expect(await libraryDb(reorder)).toEqual({ kind: 'reorder', index: 11 });
    const past = tamperedDb('a.db', 'a-past.db', (db) =>
      db
        .prepare(
          "INSERT INTO sl_default_entries SELECT 14, id || 'x', ts, hash, body, data, salt, sigs FROM sl_default_entries WHERE idx = 13",
        )
        .run(),
    );
    expectFail(py(dbArgs(past)), 'head_mismatch', 14);
    expect(await libraryDb(past)).toEqual({ kind: 'head_mismatch', index: 14 });
  });

  it('rejects a changed tile, head or stored checkpoint', async () => {
    const tile = tamperedDb('a.db', 'a-tile.db', (db) =>
      db
        .prepare('UPDATE sl_default_tiles SET hashes = zeroblob(32) || substr(hashes, 33) WHERE level = 0')
        .run(),
    );
    expectFail(py(dbArgs(tile)), 'tree_mismatch', 0);
    expect(await libraryDb(tile)).toEqual({ kind: 'tree_mismatch', index: 0 });
    const head = tamperedDb('a.db', 'a-head.db', (db) =>
      db.prepare('UPDATE sl_default_head SET root = zeroblob(32)').run(),
    );
    expectFail(py(dbArgs(head)), 'head_mismatch', 13);
    expect((await libraryDb(head)).kind).toBe('head_mismatch'); // the library names no entry here
    const cp = tamperedDb('a.db', 'a-cp.db', (db) =>
      db
        .prepare('UPDATE sl_default_checkpoints SET note = ? WHERE size = 11')
        .run(cp1Text.replace('\n11\n', '\n10\n')),
    );
    expectFail(py(dbArgs(cp)), 'checkpoint_invalid', 'stored checkpoint 11');
    expect((await libraryDb(cp)).kind).toBe('checkpoint_invalid');
  });

  it('reads the compact compressed layout (zlib with a dictionary) and rejects edits to it', async () => {
    const out = expectOk(py(dbArgs(p('b.db'))));
    expect(out).toContain('ok: 302 entries');
    expect(out).toContain('redacted: 150,');
    expect(out).toContain('assurance: checkpoint');
    // An edited ts changes the rebuilt commitment.
    const ts = tamperedDb('b.db', 'b-ts.db', (db) =>
      db.prepare('UPDATE sl_default_entries SET ts = ts + 1 WHERE idx = 120').run(),
    );
    expectFail(py(dbArgs(ts)), 'hash_mismatch', 120);
    expect(await libraryDb(ts)).toEqual({ kind: 'hash_mismatch', index: 120 });
    // Data replaced by a valid uncompressed frame of other text.
    const data = tamperedDb('b.db', 'b-data.db', (db) =>
      db
        .prepare('UPDATE sl_default_entries SET data = ? WHERE idx = 42')
        .run(Buffer.concat([Buffer.from([0, 0]), Buffer.from('{"i":42,"round":0,"text":"x"}')])),
    );
    expectFail(py(dbArgs(data)), 'hash_mismatch', 42);
    expect(await libraryDb(data)).toEqual({ kind: 'hash_mismatch', index: 42 });
    // Erased data without a record cannot be rebuilt.
    const erased = tamperedDb('b.db', 'b-erased.db', (db) =>
      db.prepare('UPDATE sl_default_entries SET data = NULL, salt = NULL WHERE idx = 7').run(),
    );
    expectFail(py(dbArgs(erased)), 'malformed_entry', 7);
    expect(await libraryDb(erased)).toEqual({ kind: 'malformed_entry', index: 7 });
    // An id in the form the writer never uses.
    const id = tamperedDb('b.db', 'b-id.db', (db) =>
      db
        .prepare(
          "UPDATE sl_default_entries SET id = lower(substr(hex(id),1,8)||'-'||substr(hex(id),9,4)||'-'||substr(hex(id),13,4)||'-'||substr(hex(id),17,4)||'-'||substr(hex(id),21)) WHERE idx = 5",
        )
        .run(),
    );
    expectFail(py(dbArgs(id)), 'malformed_entry', 5);
    expect((await libraryDb(id)).index).toBe(5); // FORMAT.md §2.6 names no kind; the library says hash_mismatch
    // Time blocks are outside every hash but must still bound their rows.
    const blocks = tamperedDb('b.db', 'b-blocks.db', (db) =>
      db.prepare('UPDATE sl_default_tblocks SET hi = lo WHERE block = 0').run(),
    );
    expectFail(py(dbArgs(blocks)), 'column_mismatch', 0);
    expect(await libraryDb(blocks)).toEqual({ kind: 'column_mismatch', index: 0 });
  });

  it('refuses (exit 2, not a pass) a layout whose codec the standard library lacks', () => {
    const r = py([p('d.db')]);
    expect(r.code, r.out).toBe(2);
    expect(r.out).toMatch(/zstd, which the Python standard library cannot decode/);
  });
});
