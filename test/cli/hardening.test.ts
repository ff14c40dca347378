/**
 * The executable's edges: a reader that closes stdout early, crashes, bounded stdin, symlink-safe
 * keyring writes, no silent overwrite of proofs, and secret key file permissions.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLine, MAIN, runCli, TSX, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
const cli = (args: string[], input?: string, env?: Record<string, string | undefined>) =>
  runCli(args, { cwd: dir, input, ...(env ? { env } : {}) });
const dbHash = () =>
  createHash('sha256')
    .update(readFileSync(join(dir, 'signledger.db')))
    .digest('hex');

const ENTRIES = 3000;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('signledger-hardening-'));
  expect((await cli(['init', '--log-key-name', 'hardening.example/log'])).code).toBe(0);
  const lines = Array.from({ length: ENTRIES }, (_, n) => JSON.stringify({ n, pad: 'x'.repeat(80) })).join(
    '\n',
  );
  const app = await cli(['append'], `${lines}\n`);
  expect(app.code, app.stderr).toBe(0);
  expect((await cli(['checkpoint'])).code).toBe(0);
}, 60_000);
afterAll(() => cleanup());

/** Run a shell line with the CLI as `$SL`; resolves with stdout, stderr and the shell's exit code. */
function shell(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NO_COLOR: '1',
      SL: `"${process.execPath}" --import ${TSX} ${MAIN}`,
    };
    delete env.SIGNLEDGER_URL;
    delete env.SIGNLEDGER_KEY_FILE;
    const child = spawn('bash', ['-c', script], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('stdout closed early', () => {
  it('`tail -n 3000 | head -1` exits 0 quietly (not 1, "tampering found")', async () => {
    const r = await shell('eval "$SL tail -n 3000" | head -1; echo "status=$PIPESTATUS"');
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^#\d+ {2}/);
    expect(lines[1]).toBe('status=0');
    expect(r.stderr).toBe('');
  });

  it('a child whose stdout pipe the parent destroys after the first chunk exits 0', async () => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN, 'list', '--json'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('the verification result survives a closed pipe: exit 0 (valid), never 1', async () => {
    const r = await shell('eval "$SL verify" | head -c 1 >/dev/null; echo "status=$PIPESTATUS"');
    expect(r.stdout.trim()).toBe('status=0');
  });
});

describe('crashes exit 2 with one line', () => {
  // A preload that throws once the CLI installed its handlers (they mark `process` with a symbol).
  const preload = (throwing: string) =>
    `data:text/javascript,${encodeURIComponent(
      `const t = setInterval(() => { if (process[Symbol.for('signledger.cli.processHandlers')]) { clearInterval(t); ${throwing} } }, 2);`,
    )}`;

  for (const [what, code] of [
    ['uncaught exception', "setTimeout(() => { throw new Error('boom-uncaught'); }, 0);"],
    ['unhandled rejection', "Promise.reject(new Error('boom-rejected'));"],
  ] as const) {
    it(what, async () => {
      const child = spawn(process.execPath, ['--import', preload(code), '--import', TSX, MAIN, '--version'], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const exit = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(exit).toBe(2);
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(/^signledger: error: internal error: boom-(uncaught|rejected)\n$/);
    });
  }
});

describe('append --max-input', () => {
  it('refuses stdin above the limit with exit 2 and writes nothing', async () => {
    const before = dbHash();
    const r = await cli(['append', '--max-input', '1k'], `${'{"a":"xxxxxxxxxxxxxxxxxxxx"}\n'.repeat(100)}`);
    expect(r.code).toBe(2);
    expect(errorLine(r)).toMatch(
      /^signledger: error: stdin is larger than --max-input \(1024 bytes\): nothing was appended/,
    );
    expect(dbHash()).toBe(before);
    const bad = await cli(['append', '--max-input', 'lots'], '{"a":1}\n');
    expect(bad.code).toBe(2);
    expect(errorLine(bad)).toMatch(/--max-input must be a size/);
    expect(dbHash()).toBe(before);
  });

  it('accepts input within the limit', async () => {
    const r = await cli(['append', '--max-input', '64', '--json'], '{"within":"limit"}\n');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveLength(1);
  });
});

describe('keygen writes the keyring through a fresh exclusive temp file', () => {
  it('does not follow a planted keyring.json.tmp symlink and leaves no temp file', async () => {
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'do not touch\n');
    const { dir: keys, cleanup: rmKeys } = tempDir('signledger-keys-');
    try {
      symlinkSync(victim, join(keys, 'keyring.json.tmp'));
      const r = await cli(['keygen', '--out', keys]);
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(victim, 'utf8')).toBe('do not touch\n');
      expect(lstatSync(join(keys, 'keyring.json')).isFile()).toBe(true);
      expect(JSON.parse(readFileSync(join(keys, 'keyring.json'), 'utf8'))).toBeTruthy();
      expect(readdirSync(keys).filter((f) => f.endsWith('.tmp'))).toEqual(['keyring.json.tmp']);
    } finally {
      rmKeys();
    }
  });
});

describe('prove --out never overwrites silently', () => {
  it('refuses an existing file (exit 2, file unchanged) unless --force', async () => {
    writeFileSync(join(dir, 'old.tlog-proof'), 'precious\n');
    const r = await cli(['prove', '0', '--out', 'old.tlog-proof']);
    expect(r.code).toBe(2);
    expect(errorLine(r)).toMatch(/refusing to overwrite old\.tlog-proof: the file exists \(pass --force/);
    expect(readFileSync(join(dir, 'old.tlog-proof'), 'utf8')).toBe('precious\n');
    const f = await cli(['prove', '0', '--out', 'old.tlog-proof', '--force']);
    expect(f.code, f.stderr).toBe(0);
    expect(readFileSync(join(dir, 'old.tlog-proof'), 'utf8')).toMatch(/tlog-proof/);
  });
});

describe.skipIf(process.platform === 'win32')('secret key file permissions', () => {
  it('refuses to sign with a group/other-readable log key, warns when only verifying', async () => {
    const key = join(dir, 'signledger.key');
    chmodSync(key, 0o644);
    try {
      const before = dbHash();
      const cp = await cli(['checkpoint']);
      expect(cp.code).toBe(2);
      expect(errorLine(cp)).toMatch(
        /^signledger: error: insecure key file: the secret log key .*signledger\.key is accessible by group or others \(mode 0644\); run `chmod 600/,
      );
      expect(dbHash()).toBe(before);

      const v = await cli(['verify']);
      expect(v.code).toBe(0);
      expect(v.stderr).toMatch(/signledger: warning: the secret log key .* \(mode 0644\)/);

      const forced = await cli(['checkpoint'], undefined, { SIGNLEDGER_INSECURE_KEY_FILE: '1' });
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.stderr).toMatch(/signledger: warning: /);
    } finally {
      chmodSync(key, 0o600);
    }
    const ok = await cli(['checkpoint']);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toBe('');
  });

  it('refuses a group/other-readable --sign-key', async () => {
    const kg = await cli(['keygen', '--out', 'signkeys', '--json']);
    const priv = (JSON.parse(kg.stdout) as { privateKey: string }).privateKey;
    chmodSync(join(dir, priv), 0o640);
    const before = dbHash();
    const r = await cli(['append', '--sign-key', priv], '{"a":1}\n');
    expect(r.code).toBe(2);
    expect(errorLine(r)).toMatch(/insecure key file: the signing key .* \(mode 0640\)/);
    expect(dbHash()).toBe(before);
    expect(existsSync(join(dir, priv))).toBe(true);
  });
});
