/** Run the real CLI as a child process (node + tsx on src/cli/main.ts) in temp directories. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
export const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
export const MAIN = join(ROOT, 'src/cli/main.ts');
export const DIST_CLI = join(ROOT, 'dist/cli.mjs');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  /** stdin: text (written as UTF-8) or raw bytes. */
  input?: string | Buffer;
  env?: Record<string, string | undefined>;
  /** Run this script instead of src/cli/main.ts (e.g. the built dist/cli.mjs). */
  script?: string;
  /** A module to load first (node --import), e.g. test/fixtures/fake-tty-interrupt.mjs. */
  preload?: string;
}

export function runCli(args: string[], o: RunOptions): Promise<CliResult> {
  const preload = o.preload ? ['--import', o.preload] : [];
  const nodeArgs = o.script ? [...preload, o.script, ...args] : ['--import', TSX, ...preload, MAIN, ...args];
  return new Promise((resolvePromise, reject) => {
    const env: Record<string, string | undefined> = {
      ...process.env,
      NO_COLOR: '1',
      SIGNLEDGER_URL: undefined,
      SIGNLEDGER_KEY_FILE: undefined,
      ...o.env,
    };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const child = spawn(process.execPath, nodeArgs, {
      cwd: o.cwd,
      env: env as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(o.input ?? '');
  });
}

export function tempDir(prefix = 'signledger-cli-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One-line error on stderr, as the CLI promises. */
export function errorLine(r: CliResult): string {
  const lines = r.stderr.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

/** A usage or input error: exit 2 and exactly one `signledger: error: …` line matching `pattern`. */
export function expectOneLineError(r: CliResult, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  expect(errorLine(r)).toMatch(/^signledger: error: /);
  expect(errorLine(r)).toMatch(pattern);
}
