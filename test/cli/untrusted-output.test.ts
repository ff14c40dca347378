/**
 * Text from evidence or a store reaches the auditor's terminal: control characters in it (ESC
 * sequences, C1 controls such as CSI U+009B, carriage returns that overwrite a line) are printed
 * escaped (\u001b), never raw, in human output, error lines and --json. Before, a bundle manifest's
 * origin went to the terminal as it was.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeControls } from '../../src/cli/output.js';
import { formatManifest, parseManifest } from '../../src/verify/bundle/format.js';
import { runCli, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
let vkey: string;
const cli = (args: string[], input?: string) => runCli(args, { cwd: dir, input });
/** The raw control characters in `s`: C0 but tab and newline, DEL, C1. */
const rawControls = (s: string) =>
  [...s].filter((ch) => {
    const c = ch.charCodeAt(0);
    return (c < 0x20 && c !== 0x09 && c !== 0x0a) || (c >= 0x7f && c <= 0x9f);
  });
const HOSTILE = 'evil\u001b]0;owned\u0007\u001b[2J\u009b31m\rVALID';

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('signledger-untrusted-'));
  const init = await cli(['init', '--log-key-name', 'untrusted.example/log', '--json']);
  vkey = (JSON.parse(init.stdout) as { verifierKey: string }).verifierKey;
  expect((await cli(['append'], `${JSON.stringify({ note: HOSTILE })}\n`)).code).toBe(0);
  expect((await cli(['export', '--checkpoint', '--out', 'bundle'])).code).toBe(0);
  // The manifest is not signed: anyone can put escape sequences in its origin.
  cpSync(join(dir, 'bundle'), join(dir, 'hostile'), { recursive: true });
  const m = parseManifest(readFileSync(join(dir, 'hostile', 'manifest.json'), 'utf8'));
  writeFileSync(join(dir, 'hostile', 'manifest.json'), formatManifest({ ...m, origin: HOSTILE }));
});
afterAll(() => cleanup());

describe('control characters from untrusted input are escaped', () => {
  it('escapeControls keeps newlines, tabs and other text, and escapes the rest', () => {
    expect(escapeControls('a\tb\nc é ✓ \u2028')).toBe('a\tb\nc é ✓ \u2028');
    expect(escapeControls('\u001b[2J\u009b\r\u007f\u0000')).toBe('\\u001b[2J\\u009b\\u000d\\u007f\\u0000');
  });

  it('verify-bundle: the manifest origin in the human report', async () => {
    const r = await cli(['verify-bundle', 'hostile', '--key', vkey]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ checkpoint_invalid: the manifest names origin evil\\u001b\]0;owned/);
    expect(r.stdout).toContain('\\u009b31m\\u000dVALID');
    expect(rawControls(r.stdout)).toEqual([]);
  });

  it('tail, show and --json print stored data escaped (C1 controls included)', async () => {
    const [tail, show, json] = await Promise.all([
      cli(['tail']),
      cli(['show', '0']),
      cli(['show', '0', '--json']),
    ]);
    for (const r of [tail, show, json]) {
      expect(r.code, r.stderr).toBe(0);
      expect(rawControls(r.stdout)).toEqual([]);
    }
    expect(tail.stdout).toContain('\\u009b31m');
    // JSON stays JSON, with the same value.
    expect(JSON.parse(json.stdout).data).toEqual({ note: HOSTILE });
  });

  it('error lines on stderr', async () => {
    const r = await cli(['show', `no-such-id-${HOSTILE}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no-such-id-evil\\u001b]0;owned');
    expect(rawControls(r.stderr)).toEqual([]);
  });
});
