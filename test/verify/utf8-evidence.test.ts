/**
 * Evidence is UTF-8: an entries.jsonl line or a proof file's `extra` whose bytes are not valid UTF-8
 * is malformed_entry, for the library's offline verifier as for the independent Python verifier
 * (tools/independent-verifier). Before, the library decoded such bytes with U+FFFD in their place, so
 * a bundle whose entry data holds a genuine U+FFFD verified with that character's bytes replaced by
 * any invalid byte: two different byte strings, one verdict.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryBackend } from '../../src/backends/memory/index.js';
import { exportBundle } from '../../src/cli/bundle-export.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { generateLogKey } from '../../src/ledger/log-key.js';
import { formatProofFile, parseProofFile, proofExtra } from '../../src/verify/bundle/proof-file.js';
import { verifyBundle, verifyProofFile } from '../../src/verify/bundle.js';

const VERIFIER = resolve(import.meta.dirname, '../../tools/independent-verifier/signledger_verify.py');
const logKey = generateLogKey('utf8.example/log');
/** U+FFFD, the character a lossy decoder writes for an invalid byte. */
const REPLACEMENT = Buffer.from('\ufffd', 'utf8');
let dir: string;
let proof: string;

function py(args: string[]): { code: number; out: string } {
  try {
    return {
      code: 0,
      out: execFileSync('python3', [VERIFIER, ...args], { encoding: 'utf8', stdio: 'pipe' }),
    };
  } catch (e) {
    const x = e as { status: number | null; stdout?: string; stderr?: string };
    if (typeof x.status !== 'number') throw e;
    return { code: x.status, out: `${x.stdout ?? ''}${x.stderr ?? ''}` };
  }
}

/** `bytes` with its only U+FFFD replaced by one invalid byte (0xFF never occurs in UTF-8). */
function breakUtf8(bytes: Buffer): Buffer {
  const at = bytes.indexOf(REPLACEMENT);
  expect(at).toBeGreaterThanOrEqual(0);
  expect(bytes.indexOf(REPLACEMENT, at + 1)).toBe(-1);
  return Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff]), bytes.subarray(at + REPLACEMENT.length)]);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'signledger-utf8-'));
  writeFileSync(join(dir, 'log.vkey'), `${logKey.verifierKey}\n`);
  const ledger = await Ledger.open({ backend: new InMemoryBackend(), logKey });
  await ledger.append({ n: 0 });
  await ledger.append({ n: 1, text: 'a genuine \ufffd in the data' });
  await ledger.append({ n: 2 });
  const cp = await ledger.checkpoint();
  await exportBundle(ledger, join(dir, 'bundle'), cp, logKey.verifierKey);
  const p = await ledger.proveInclusion(1, cp);
  proof = formatProofFile({
    index: 1,
    path: p.path.map((h) => Buffer.from(h, 'hex')),
    extra: proofExtra((await ledger.backend.getByIndex(1))!, 'sha256'),
    checkpoint: cp.text,
  });
  await ledger.close();
  writeFileSync(join(dir, 'entry1.tlog-proof'), proof);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('evidence that is not UTF-8 is malformed_entry', () => {
  it('the genuine bundle and proof verify, with both verifiers', async () => {
    expect((await verifyBundle(join(dir, 'bundle'), { verifierKey: logKey.verifierKey })).ok).toBe(true);
    expect((await verifyProofFile(proof, { verifierKey: logKey.verifierKey })).ok).toBe(true);
    expect(py([join(dir, 'bundle'), '--log-key', join(dir, 'log.vkey')]).code).toBe(0);
    expect(py([join(dir, 'entry1.tlog-proof'), '--log-key', join(dir, 'log.vkey')]).code).toBe(0);
  });

  it('an entries.jsonl line with an invalid byte', async () => {
    const bundle = join(dir, 'bundle-broken');
    cpSync(join(dir, 'bundle'), bundle, { recursive: true });
    const entries = readFileSync(join(bundle, 'entries.jsonl'));
    writeFileSync(join(bundle, 'entries.jsonl'), breakUtf8(entries));
    const r = await verifyBundle(bundle, { verifierKey: logKey.verifierKey });
    expect(r.ok).toBe(false);
    expect(r.failure).toMatchObject({ kind: 'malformed_entry', index: 1 });
    expect(r.failure!.message).toMatch(/entries line 2: not UTF-8/);
    const p = py([bundle, '--log-key', join(dir, 'log.vkey')]);
    expect(p.code, p.out).toBe(1);
    expect(p.out).toMatch(/^FAIL malformed_entry at entry 1: /);
  });

  it('a proof file whose extra is not UTF-8 (the file itself is ASCII: extra is base64)', async () => {
    const parsed = parseProofFile(proof);
    const extra = breakUtf8(Buffer.from(parsed.extra!, 'utf8'));
    const head = proof.slice(0, proof.indexOf('\n'));
    const rest = proof.slice(proof.indexOf('\n', head.length + 1));
    const broken = `${head}\nextra ${extra.toString('base64')}${rest}`;
    expect(parseProofFile(broken).index).toBe(1);
    const r = await verifyProofFile(broken, { verifierKey: logKey.verifierKey });
    expect(r.ok).toBe(false);
    expect(r.failure).toMatchObject({ kind: 'malformed_entry', index: 1 });
    expect(r.failure!.message).toMatch(/not UTF-8/);
    writeFileSync(join(dir, 'broken.tlog-proof'), broken);
    const p = py([join(dir, 'broken.tlog-proof'), '--log-key', join(dir, 'log.vkey')]);
    expect(p.code, p.out).toBe(1);
    expect(p.out).toMatch(/^FAIL malformed_entry at entry 1: /);
  });
});
