/**
 * `import` pins the log's key: --key, or the explicit --trust-bundle-key opt-in (never a silent
 * fallback to the bundle's own log.vkey, and that key is never installed beside the store). A
 * missing bundle is reported as missing.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOneLineError, runCli, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
let vkey: string;
const cli = (args: string[], input?: string) => runCli(args, { cwd: dir, input });

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('signledger-import-key-'));
  const init = await cli(['init', '--log-key-name', 'import.example/log', '--json']);
  expect(init.code).toBe(0);
  vkey = (JSON.parse(init.stdout) as { verifierKey: string }).verifierKey;
  expect((await cli(['append'], '{"n":0}\n{"n":1}\n')).code).toBe(0);
  expect((await cli(['export', '--checkpoint', '--out', 'bundle'])).code).toBe(0);
  writeFileSync(join(dir, 'not-a-dir'), 'x');
});
afterAll(() => cleanup());

describe('import needs the key to trust', () => {
  it('refuses to take the key from the bundle unless asked; a missing bundle is missing', async () => {
    const [nokey, missing, missingKey, file, both] = await Promise.all([
      cli(['import', 'bundle', '--db', 'a/copy.db']),
      cli(['import', '/nonexistent/dir', '--db', 'b/copy.db']),
      cli(['import', '/nonexistent/dir', '--db', 'b/copy.db', '--key', vkey]),
      cli(['import', 'not-a-dir', '--db', 'c/copy.db', '--key', vkey]),
      cli(['import', 'bundle', '--db', 'd/copy.db', '--key', vkey, '--trust-bundle-key']),
    ]);
    expectOneLineError(
      nokey,
      /import needs the log's verifier key: pass --key VKEY .* or --trust-bundle-key/,
    );
    expectOneLineError(missing, /missing file: bundle \/nonexistent\/dir does not exist/);
    expect(missing.stderr).not.toMatch(/wrong key/);
    expectOneLineError(missingKey, /missing file: bundle \/nonexistent\/dir does not exist/);
    expectOneLineError(file, /not-a-dir is not a bundle directory/);
    expectOneLineError(both, /--key or --trust-bundle-key, not both/);
    for (const d of ['a', 'b', 'c', 'd']) expect(existsSync(join(dir, d))).toBe(false);
  });

  it('--trust-bundle-key imports with a warning and does not install the bundle key', async () => {
    const [human, json] = await Promise.all([
      cli(['import', 'bundle', '--db', 'e/copy.db', '--trust-bundle-key']),
      cli(['import', 'bundle', '--db', 'f/copy.db', '--trust-bundle-key', '--json']),
    ]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stderr).toMatch(
      /warning: --trust-bundle-key: checking the bundle against its own log\.vkey/,
    );
    expect(existsSync(join(dir, 'e/signledger.vkey'))).toBe(false);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ size: 2, keySource: 'bundle', vkeyFile: null });
    // Nothing beside the copy vouches for its checkpoint: verify stops at chain until --key is given.
    const [v, vk] = await Promise.all([
      cli(['verify', '--db', 'e/copy.db', '--json']),
      cli(['verify', '--db', 'e/copy.db', '--key', vkey, '--json']),
    ]);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, assurance: 'chain' });
    expect(JSON.parse(vk.stdout)).toMatchObject({ ok: true, assurance: 'checkpoint' });
  });

  it('--key imports and installs that pinned key beside the store', async () => {
    const r = await cli(['import', 'bundle', '--db', 'g/copy.db', '--key', vkey, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({
      size: 2,
      keySource: 'key',
      vkeyFile: join('g', 'signledger.vkey'),
    });
    const v = await cli(['verify', '--db', 'g/copy.db', '--json']);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, assurance: 'checkpoint' });
  });
});
