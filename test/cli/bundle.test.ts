/**
 * The offline verifier against tampered evidence: in-process for the many cases, and through the
 * real binary for the exit codes. The bundle comes from a real SQLite ledger.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { exportBundle } from '../../src/cli/bundle-export.js';
import { Ed25519Signer } from '../../src/crypto/signatures/ed25519.js';
import { KeyRing } from '../../src/crypto/signatures/keyring.js';
import { ValidationError } from '../../src/errors.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { generateLogKey } from '../../src/ledger/log-key.js';
import { parseCheckpointBody, signCheckpoint } from '../../src/note/checkpoint.js';
import { formatProofFile, parseProofFile } from '../../src/verify/bundle/proof-file.js';
import { verifyBundle, verifyProofFile } from '../../src/verify/bundle.js';
import { runCli, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
const logKey = generateLogKey('audit.example.com/tamper');
const signer = new Ed25519Signer();
let proofAt3: string;
let proofAt6: string;
let cp3: string;
let cp6: string;

function copyBundle(name: string): string {
  const to = join(dir, name);
  cpSync(join(dir, 'bundle'), to, { recursive: true });
  return to;
}
const entriesOf = (b: string) => readFileSync(join(b, 'entries.jsonl'), 'utf8').split('\n').slice(0, -1);
const writeEntries = (b: string, lines: string[]) =>
  writeFileSync(join(b, 'entries.jsonl'), lines.map((l) => `${l}\n`).join(''));

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('signledger-bundle-'));
  const ledger = await Ledger.open({ backend: new SQLiteBackend({ path: join(dir, 'l.db') }), logKey });
  await ledger.appendBatch(
    [
      { user: 'alice', n: 0 },
      { user: 'bob', n: 1 },
      { user: 'carol', n: 2 },
    ],
    { signer },
  );
  const c3 = await ledger.checkpoint();
  cp3 = c3.text;
  const target = await ledger.append({ user: 'dave', secret: 'to be erased' }, { signer });
  await ledger.redact(target.id, { reason: 'GDPR request' });
  await ledger.append({ user: 'erin', note: 'ünïcödé ✓ \u2028' }, { signer });
  const c6 = await ledger.checkpoint();
  cp6 = c6.text;
  const row = (await ledger.backend.getByIndex(1))!;
  const p3 = await ledger.proveInclusion(1, 3);
  const p6 = await ledger.proveInclusion(1, 6);
  const { proofExtra } = await import('../../src/verify/bundle/proof-file.js');
  const extra = proofExtra(row, 'sha256');
  proofAt3 = formatProofFile({
    index: 1,
    path: p3.path.map((h) => Buffer.from(h, 'hex')),
    extra,
    checkpoint: cp3,
  });
  proofAt6 = formatProofFile({
    index: 1,
    path: p6.path.map((h) => Buffer.from(h, 'hex')),
    extra,
    checkpoint: cp6,
  });
  await exportBundle(ledger, join(dir, 'bundle'), c6, logKey.verifierKey);
  await ledger.close();
});
afterAll(() => cleanup());

const keys = () => new KeyRing([signer]);

describe('verifyBundle', () => {
  // The redaction record (index 4) is unsigned: requireSignatures applies to events only.
  it('accepts the exported bundle: complete, unmodified, signed by the named keys, redaction reported', async () => {
    const r = await verifyBundle(join(dir, 'bundle'), {
      verifierKey: logKey.verifierKey,
      keys: keys(),
      requireSignatures: 1,
    });
    expect(r.failure).toBeNull();
    expect(r).toMatchObject({
      ok: true,
      size: 6,
      entriesChecked: 6,
      signaturesChecked: 5,
      redacted: [3],
      assurance: 'checkpoint',
      bundleKeyMatches: true,
    });
    expect(r.checkpoint!.size).toBe(6);
    // As contents (no directory), with the entries in odd chunks.
    const text = readFileSync(join(dir, 'bundle/entries.jsonl'), 'utf8');
    const chunks = text.match(/[\s\S]{1,7}/g)!;
    const r2 = await verifyBundle(
      { manifest: readFileSync(join(dir, 'bundle/manifest.json'), 'utf8'), checkpoint: cp6, entries: chunks },
      { verifierKey: logKey.verifierKey },
    );
    expect(r2.ok).toBe(true);
    expect(r2.notChecked.join()).toMatch(/no trusted keys/);
  });

  it('extends a trusted earlier checkpoint, and flags a bundle shorter than it', async () => {
    const r = await verifyBundle(join(dir, 'bundle'), { verifierKey: logKey.verifierKey, trusted: cp3 });
    expect(r).toMatchObject({ ok: true, assurance: 'trusted', checkpointsChecked: 2 });
  });

  it('detects an edited entry (data, body, hash, signatures)', async () => {
    const cases: [string, (l: Record<string, unknown>) => void, string][] = [
      ['data', (l) => (l.data = (l.data as string).replace('bob', 'mallory')), 'data_mismatch'],
      ['body', (l) => (l.body = (l.body as string).replace('"index":1', '"index":7')), 'hash_mismatch'],
      [
        'hash+body',
        (l) => (l.body = (l.body as string).replace('"metadata":{}', '"metadata":{"x":1}')),
        'hash_mismatch',
      ],
      ['signatures', (l) => (l.signatures = null), 'tree_mismatch'],
    ];
    for (const [name, edit, kind] of cases) {
      const b = copyBundle(`edited-${name}`);
      const lines = entriesOf(b);
      const o = JSON.parse(lines[1]!) as Record<string, unknown>;
      edit(o);
      lines[1] = JSON.stringify(o);
      writeEntries(b, lines);
      const r = await verifyBundle(b, { verifierKey: logKey.verifierKey });
      expect(r.ok, name).toBe(false);
      expect(r.failure!.kind, name).toBe(kind);
      if (kind !== 'tree_mismatch') expect(r.failure!.index, name).toBe(1);
      rmSync(b, { recursive: true });
    }
  });

  it('detects a removed entry, a truncated file, an added line and a non-canonical line', async () => {
    const b = copyBundle('removed');
    const lines = entriesOf(b);
    writeEntries(b, [...lines.slice(0, 2), ...lines.slice(3)]);
    expect((await verifyBundle(b, { verifierKey: logKey.verifierKey })).failure).toMatchObject({
      kind: 'gap',
      index: 3,
    });
    writeEntries(b, lines.slice(0, 5));
    expect((await verifyBundle(b, { verifierKey: logKey.verifierKey })).failure).toMatchObject({
      kind: 'truncated',
      index: 5,
    });
    writeEntries(b, [...lines, lines[5]!]);
    expect((await verifyBundle(b, { verifierKey: logKey.verifierKey })).failure).toMatchObject({
      kind: 'malformed_entry',
      index: 6,
    });
    writeEntries(b, [...lines.slice(0, 2), lines[2]!.replace('{"body"', '{ "body"'), ...lines.slice(3)]);
    expect((await verifyBundle(b, { verifierKey: logKey.verifierKey })).failure!.message).toMatch(
      /line 3: .*canonical/,
    );
    writeEntries(b, [
      ...lines.slice(0, 2),
      lines[2]!.replace('{"body"', '{"body":"x","body"'),
      ...lines.slice(3),
    ]);
    expect((await verifyBundle(b, { verifierKey: logKey.verifierKey })).failure!.kind).toBe(
      'malformed_entry',
    );
    writeFileSync(join(b, 'entries.jsonl'), lines.join('\n')); // no final newline
    expect((await verifyBundle(b, { verifierKey: logKey.verifierKey })).failure!.message).toMatch(
      /no final newline/,
    );
  });

  it('detects an erased entry whose redaction record was removed from the evidence', async () => {
    const b = copyBundle('unrecorded');
    const lines = entriesOf(b);
    // Keep the erased entry 3 but end the evidence before its record: a shorter but consistent-looking log.
    writeEntries(b, lines.slice(0, 4));
    const r = await verifyBundle(b, { verifierKey: logKey.verifierKey });
    expect(r.failure).toMatchObject({ kind: 'redaction_unrecorded', index: 3 });
  });

  it('rejects a checkpoint re-signed with another key, and a manifest that disagrees with the checkpoint', async () => {
    const b = copyBundle('resigned');
    const other = generateLogKey('audit.example.com/tamper');
    const body = parseCheckpointBody(cp6.slice(0, cp6.indexOf('\n\n') + 1));
    writeFileSync(join(b, 'checkpoint'), signCheckpoint(body, other.signer));
    writeFileSync(join(b, 'log.vkey'), `${other.verifierKey}\n`);
    const r = await verifyBundle(b, { verifierKey: logKey.verifierKey });
    expect(r).toMatchObject({ ok: false, bundleKeyMatches: false });
    expect(r.failure!.kind).toBe('checkpoint_invalid');
    // The forger's own key verifies its own checkpoint: the auditor must pin the real key.
    expect((await verifyBundle(b, { verifierKey: other.verifierKey })).ok).toBe(true);

    const m = copyBundle('manifest-lies');
    const manifest = JSON.parse(readFileSync(join(m, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(m, 'manifest.json'), JSON.stringify({ ...manifest, size: 5 }));
    expect((await verifyBundle(m, { verifierKey: logKey.verifierKey })).failure!.kind).toBe(
      'checkpoint_invalid',
    );
    writeFileSync(
      join(m, 'manifest.json'),
      JSON.stringify({ ...manifest, ledgerId: '00000000-0000-4000-8000-000000000000' }),
    );
    expect((await verifyBundle(m, { verifierKey: logKey.verifierKey })).failure!.kind).toBe(
      'ledger_mismatch',
    );
    // Entries of a format version this verifier does not know are not read by guesswork.
    writeFileSync(join(m, 'manifest.json'), JSON.stringify({ ...manifest, formatVersion: 2 }));
    await expect(verifyBundle(m, { verifierKey: logKey.verifierKey })).rejects.toThrow(
      /format version 2; this verifier knows version 1/,
    );
    // A smaller, validly signed checkpoint with all entries: the extra entries are not covered.
    writeFileSync(join(m, 'manifest.json'), readFileSync(join(dir, 'bundle/manifest.json')));
    writeFileSync(join(m, 'checkpoint'), cp3);
    expect((await verifyBundle(m, { verifierKey: logKey.verifierKey })).failure!.kind).toBe(
      'checkpoint_invalid',
    );
  });

  it('fails closed on signatures by keys not named, and throws for bundles that cannot be read', async () => {
    const r = await verifyBundle(join(dir, 'bundle'), {
      verifierKey: logKey.verifierKey,
      keys: new KeyRing([new Ed25519Signer()]),
    });
    expect(r.failure).toMatchObject({ kind: 'key_unknown', index: 0 });
    await expect(verifyBundle(join(dir, 'nope'), { verifierKey: logKey.verifierKey })).rejects.toThrow(
      /malformed bundle: .* does not exist/,
    );
    const b = copyBundle('no-manifest');
    rmSync(join(b, 'manifest.json'));
    await expect(verifyBundle(b, { verifierKey: logKey.verifierKey })).rejects.toThrow(
      /manifest .* is missing/,
    );
    writeFileSync(join(b, 'manifest.json'), '{"format":"signledger-bundle","format":"x"}');
    await expect(verifyBundle(b, { verifierKey: logKey.verifierKey })).rejects.toThrow(/duplicate property/);
    writeFileSync(join(b, 'manifest.json'), readFileSync(join(dir, 'bundle/manifest.json')));
    rmSync(join(b, 'entries.jsonl'));
    await expect(verifyBundle(b, { verifierKey: logKey.verifierKey })).rejects.toThrow(
      /entries file .* is missing/,
    );
  });
});

describe('signatures required without keys', () => {
  it('verifyBundle and verifyProofFile refuse requireSignatures without keys (fail closed)', async () => {
    await expect(
      verifyBundle(join(dir, 'bundle'), { verifierKey: logKey.verifierKey, requireSignatures: 1 }),
    ).rejects.toThrow(ValidationError);
    await expect(
      verifyProofFile(proofAt3, { verifierKey: logKey.verifierKey, requireSignatures: 1 }),
    ).rejects.toThrow(/requireSignatures needs keys/);
  });
});

describe('verifyProofFile', () => {
  it('accepts proofs at both checkpoints and checks the entry content and signatures', async () => {
    for (const p of [proofAt3, proofAt6]) {
      const r = await verifyProofFile(p, {
        verifierKey: logKey.verifierKey,
        keys: keys(),
        requireSignatures: 1,
      });
      expect(r.failure).toBeNull();
      expect(r.entry).toMatchObject({ data: { user: 'bob', n: 1 }, redacted: false });
      expect(r.signaturesChecked).toBe(1);
    }
  });

  it('rejects a proof for another tree size, an edited entry, another index, a re-signed checkpoint', async () => {
    // The audit path for size 3 under the checkpoint for size 6.
    const swapped = proofAt3.slice(0, proofAt3.indexOf('\n\n') + 2) + cp6;
    expect((await verifyProofFile(swapped, { verifierKey: logKey.verifierKey })).failure!.kind).toBe(
      'tree_mismatch',
    );
    const p = parseProofFile(proofAt6);
    const edited = formatProofFile({ ...p, extra: p.extra!.replace('\\"bob\\"', '\\"eve\\"') });
    expect((await verifyProofFile(edited, { verifierKey: logKey.verifierKey })).failure!.kind).toBe(
      'data_mismatch',
    );
    const moved = formatProofFile({ ...p, index: 2 });
    expect((await verifyProofFile(moved, { verifierKey: logKey.verifierKey })).failure!.kind).toBe('reorder');
    const other = generateLogKey('audit.example.com/tamper');
    const body = parseCheckpointBody(cp6.slice(0, cp6.indexOf('\n\n') + 1));
    const resigned = formatProofFile({ ...p, checkpoint: signCheckpoint(body, other.signer) });
    expect((await verifyProofFile(resigned, { verifierKey: logKey.verifierKey })).failure!.kind).toBe(
      'checkpoint_invalid',
    );
    await expect(verifyProofFile('not a proof\n\nx', { verifierKey: logKey.verifierKey })).rejects.toThrow(
      /malformed proof file/,
    );
  });
});

describe('verify-bundle through the binary: exit codes', () => {
  it('0 valid, 1 tampered (edited, removed, re-signed, other tree size), 2 malformed or wrong key', async () => {
    const edited = copyBundle('cli-edited');
    const lines = entriesOf(edited);
    lines[2] = lines[2]!.replace('carol', 'carla');
    writeEntries(edited, lines);
    const removed = copyBundle('cli-removed');
    writeEntries(removed, entriesOf(removed).slice(0, 5));
    const resigned = copyBundle('cli-resigned');
    const other = generateLogKey('audit.example.com/tamper');
    writeFileSync(
      join(resigned, 'checkpoint'),
      signCheckpoint(parseCheckpointBody(cp6.slice(0, cp6.indexOf('\n\n') + 1)), other.signer),
    );
    writeFileSync(join(dir, 'swapped.tlog-proof'), proofAt3.slice(0, proofAt3.indexOf('\n\n') + 2) + cp6);
    const malformed = copyBundle('cli-malformed');
    writeFileSync(join(malformed, 'manifest.json'), 'not json');
    const key = logKey.verifierKey;
    const run = (args: string[]) => runCli(args, { cwd: dir });
    const [ok, ed, rm, rs, sw, mf, missing, wrong] = await Promise.all([
      run(['verify-bundle', 'bundle', '--key', key]),
      run(['verify-bundle', 'cli-edited', '--key', key]),
      run(['verify-bundle', 'cli-removed', '--key', key, '--json']),
      run(['verify-bundle', 'cli-resigned', '--key', key]),
      run(['verify-bundle', 'swapped.tlog-proof', '--key', key]),
      run(['verify-bundle', 'cli-malformed', '--key', key]),
      run(['verify-bundle', 'no-such-dir', '--key', key]),
      run(['verify-bundle', 'bundle', '--key', 'audit.example.com/tamper+00000000+AAAA']),
    ]);
    expect(ok.code).toBe(0);
    expect(ed.code).toBe(1);
    expect(ed.stdout).toMatch(/✗ data_mismatch at entry 2/);
    expect(ed.stdout).toMatch(/expected: [0-9a-f]{64}/);
    expect(rm.code).toBe(1);
    expect(JSON.parse(rm.stdout).failure.kind).toBe('truncated');
    expect(rs.code).toBe(1);
    expect(rs.stdout).toMatch(/checkpoint_invalid: the bundle checkpoint does not verify/);
    expect(sw.code).toBe(1);
    expect(sw.stdout).toMatch(/tree_mismatch/);
    for (const r of [mf, missing, wrong]) {
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(mf.stderr).toMatch(/^signledger: error: malformed bundle: manifest.json is not valid JSON/);
    expect(missing.stderr).toMatch(/missing file: no-such-dir does not exist/);
    expect(wrong.stderr).toMatch(/wrong key/);
  });
});

describe('verify-bundle --trusted with a proof file', () => {
  it('is refused (exit 2): a proof file carries no consistency proof to relate its checkpoint to a trusted one', async () => {
    writeFileSync(join(dir, 'at3.tlog-proof'), proofAt3);
    writeFileSync(join(dir, 'cp3.txt'), cp3);
    writeFileSync(join(dir, 'cp6.txt'), cp6);
    const key = logKey.verifierKey;
    const run = (args: string[]) => runCli(args, { cwd: dir });
    // Before, --trusted was silently ignored: a proof at size 3 "passed" against a trusted size 6.
    const [older, same, json] = await Promise.all([
      run(['verify-bundle', 'at3.tlog-proof', '--key', key, '--trusted', 'cp6.txt']),
      run(['verify-bundle', 'at3.tlog-proof', '--key', key, '--trusted', 'cp3.txt']),
      run(['verify-bundle', 'at3.tlog-proof', '--key', key, '--trusted', 'cp3.txt', '--json']),
    ]);
    for (const r of [older, same]) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(
        /^signledger: error: --trusted applies to bundles only: .*at3\.tlog-proof is a proof file/,
      );
    }
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'USAGE' } });
  });
});
