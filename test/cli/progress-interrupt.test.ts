/**
 * The progress bar hides the cursor and turns line wrap off while it runs; an interruption (Ctrl-C,
 * SIGTERM) must give the terminal back before the process ends, with the shell's exit code for the
 * signal (130 for SIGINT, 143 for SIGTERM). The executable runs with stderr made to look like a
 * terminal (test/fixtures/fake-tty-interrupt.mjs), interrupting itself while the bar runs.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressBar } from '../../src/cli/progress.js';
import { MAIN, runCli, TSX, tempDir } from './helpers.js';

const PRELOAD = resolve(import.meta.dirname, '../fixtures/fake-tty-interrupt.mjs');
const HIDE = '\x1b[?25l';
const SHOW = '\x1b[?25h';
const WRAP_OFF = '\x1b[?7l';
const WRAP_ON = '\x1b[?7h';

let dir: string;
let cleanup: () => void;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('signledger-interrupt-'));
  expect((await runCli(['init', '--log-key-name', 'interrupt.example/log'], { cwd: dir })).code).toBe(0);
  const lines = Array.from({ length: 20_000 }, (_, n) => `{"n":${n}}`).join('\n');
  const app = await runCli(['append', '--quiet'], { cwd: dir, input: `${lines}\n` });
  expect(app.code, app.stderr).toBe(0);
  expect((await runCli(['checkpoint'], { cwd: dir })).code).toBe(0);
}, 60_000);
afterAll(() => cleanup());

function interrupted(
  args: string[],
  signal: 'SIGINT' | 'SIGTERM',
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, FAKE_TTY_SIGNAL: signal };
    delete env.SIGNLEDGER_URL;
    delete env.SIGNLEDGER_KEY_FILE;
    const child = spawn(process.execPath, ['--import', TSX, '--import', PRELOAD, MAIN, ...args], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, sig) => resolvePromise({ code, signal: sig, stderr }));
  });
}

/** The terminal modes after the last write: the cursor shown and line wrap on again. */
function expectRestored(stderr: string): void {
  expect(stderr).toContain(HIDE);
  expect(stderr.lastIndexOf(SHOW)).toBeGreaterThan(stderr.lastIndexOf(HIDE));
  expect(stderr).toContain(WRAP_OFF);
  expect(stderr.lastIndexOf(WRAP_ON)).toBeGreaterThan(stderr.lastIndexOf(WRAP_OFF));
}

describe('interrupting a command with a progress bar', () => {
  it('Ctrl-C during verify restores the cursor and line wrap, and exits 130', async () => {
    const r = await interrupted(['verify'], 'SIGINT');
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 130, signal: null });
    expectRestored(r.stderr);
  });

  it('SIGTERM during export does the same and exits 143', async () => {
    const r = await interrupted(['export', '--out', 'bundle-term'], 'SIGTERM');
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 143, signal: null });
    expectRestored(r.stderr);
  });

  it('a bar listens for signals only while it runs (and one loop turn after): none are left behind', async () => {
    const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    // A terminal that swallows the output.
    const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
    const stream = Object.assign(sink, { isTTY: true, columns: 80 }) as unknown as NodeJS.WriteStream;
    for (let i = 0; i < 3; i++) {
      const bar = progressBar('test', { enabled: true, stream });
      bar.update(1, 10);
      expect(process.listenerCount('SIGINT')).toBe(before[0]! + 1);
      expect(process.listenerCount('SIGTERM')).toBe(before[1]! + 1);
      bar.update(5, 10);
      bar.stop();
      bar.stop();
      for (let turn = 0; turn < 2; turn++) await new Promise((r) => setImmediate(r));
      expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
    }
  });
});
