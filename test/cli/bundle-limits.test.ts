/**
 * The offline verifier reads a bundle in bounded memory: one entries.jsonl line is capped (64 MiB,
 * MAX_LINE_BYTES) and the files read whole (manifest.json, checkpoint, log.vkey) at 1 MiB, so a line
 * of hundreds of MiB or a checkpoint linked to /dev/zero is a failed report (exit 1) or an unreadable
 * bundle (exit 2), never a crash. Before, one 600 MiB line died with "Invalid string length".
 */
import { cpSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_LINE_BYTES, splitLines } from '../../src/verify/bundle/lines.js';
import { expectOneLineError, runCli, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
let vkey: string;
const cli = (args: string[]) => runCli(args, { cwd: dir });

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('signledger-limits-'));
  const init = await runCli(['init', '--log-key-name', 'limits.example/log', '--json'], { cwd: dir });
  vkey = (JSON.parse(init.stdout) as { verifierKey: string }).verifierKey;
  expect((await runCli(['append'], { cwd: dir, input: '{"n":0}\n{"n":1}\n' })).code).toBe(0);
  expect((await cli(['export', '--checkpoint', '--out', 'bundle'])).code).toBe(0);
});
afterAll(() => cleanup());

/** A copy of the bundle with `file` replaced by a sparse file of `bytes` zero bytes (no newline). */
function withZeros(name: string, file: string, bytes: number): string {
  cpSync(join(dir, 'bundle'), join(dir, name), { recursive: true });
  writeFileSync(join(dir, name, file), '');
  truncateSync(join(dir, name, file), bytes);
  return name;
}

describe('bounded reading of a bundle', () => {
  it('an entries.jsonl that is one 600 MiB line is malformed_entry (exit 1), for verify-bundle and import', async () => {
    const b = withZeros('huge-line', 'entries.jsonl', 600 * 1024 * 1024);
    const [r, imp] = await Promise.all([
      cli(['verify-bundle', b, '--key', vkey, '--json', '--no-progress']),
      cli(['import', b, '--db', 'copy.db', '--key', vkey]),
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).failure).toMatchObject({
      kind: 'malformed_entry',
      index: 0,
      message: `entries line 1: longer than ${MAX_LINE_BYTES} bytes`,
    });
    expect(imp.code, imp.stderr).toBe(1);
    expect(imp.stderr).toMatch(/malformed_entry: entries line 1: longer than/);
  });

  it('a checkpoint that is too large or is /dev/zero fails verification (exit 1, checkpoint_invalid)', async () => {
    const big = withZeros('big-checkpoint', 'checkpoint', 8 * 1024 * 1024);
    cpSync(join(dir, 'bundle'), join(dir, 'zero-checkpoint'), { recursive: true });
    unlinkSync(join(dir, 'zero-checkpoint', 'checkpoint'));
    symlinkSync('/dev/zero', join(dir, 'zero-checkpoint', 'checkpoint'));
    const results = await Promise.all([
      cli(['verify-bundle', big, '--key', vkey]),
      cli(['verify-bundle', 'zero-checkpoint', '--key', vkey]),
    ]);
    for (const r of results) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toMatch(
        /✗ checkpoint_invalid: the bundle checkpoint cannot be read: checkpoint .* is larger than 1048576 bytes/,
      );
    }
  });

  it('a manifest.json too large to be one makes the bundle unreadable (exit 2)', async () => {
    const b = withZeros('big-manifest', 'manifest.json', 8 * 1024 * 1024);
    expectOneLineError(
      await cli(['verify-bundle', b, '--key', vkey]),
      /malformed bundle: manifest .*manifest\.json is larger than 1048576 bytes/,
    );
  });
});

describe('splitLines with a cap', () => {
  const lines = async (source: Parameters<typeof splitLines>[0], maxLineBytes: number) => {
    const out = [];
    for await (const batch of splitLines(source, { maxLineBytes })) out.push(...batch);
    return out;
  };
  it('yields the lines before the first one over the cap, then that one flagged, and stops', async () => {
    const over = { text: '', terminated: false, error: 'longer than 4 bytes' };
    const b = (s: string) => Buffer.from(s);
    expect(await lines('ab\nabcd\nabcde\nx\n', 4)).toEqual([
      { text: 'ab', terminated: true },
      { text: 'abcd', terminated: true },
      over,
    ]);
    // Chunked, the long line spanning chunks or inside one; text and bytes alike.
    expect(await lines(['ab\nab', 'cde', 'fgh\nx\n'], 4)).toEqual([{ text: 'ab', terminated: true }, over]);
    expect(await lines([b('ab\nab'), b('cde'), b('fgh\nx\n')], 4)).toEqual([
      { text: 'ab', terminated: true },
      over,
    ]);
    expect(await lines([b('ab\nabcdefgh\nx\n')], 4)).toEqual([{ text: 'ab', terminated: true }, over]);
    // An endless source: the split stops at the cap.
    function* zeros() {
      for (;;) yield Buffer.alloc(3);
    }
    expect(await lines(zeros(), 4)).toEqual([over]);
    // At the cap exactly: fine.
    expect(await lines([b('abcd\n')], 4)).toEqual([{ text: 'abcd', terminated: true }]);
  });
});
