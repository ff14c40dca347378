/**
 * Concurrent `keygen --out` into one directory: every key pair lands in keyring.json. The keyring
 * is read, extended and replaced under an exclusive lock file (keyring.json.lock); before, parallel
 * runs each replaced it with their own read and entries were lost (4 runs, 2 keys in the ring).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyRing } from '../../src/crypto/signatures/keyring.js';
import { expectOneLineError, runCli, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
const cli = (args: string[]) => runCli(args, { cwd: dir });

beforeAll(() => {
  ({ dir, cleanup } = tempDir('signledger-keygen-'));
});
afterAll(() => cleanup());

const ringIds = (d: string) =>
  (JSON.parse(readFileSync(join(dir, d, 'keyring.json'), 'utf8')) as { keys: { keyId: string }[] }).keys
    .map((k) => k.keyId)
    .sort();

describe('keygen into one directory from several processes', () => {
  it('keeps every key: 8 parallel runs, 8 keys in keyring.json, no lock file left', async () => {
    const runs = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        cli(['keygen', '--type', i % 2 ? 'ecdsa' : 'ed25519', '--out', 'keys', '--json']),
      ),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const made = runs.map((r) => (JSON.parse(r.stdout) as { keyId: string }).keyId).sort();
    expect(ringIds('keys')).toEqual(made);
    expect(KeyRing.fromJSON(readFileSync(join(dir, 'keys', 'keyring.json'), 'utf8')).size).toBe(8);
    expect(readdirSync(join(dir, 'keys')).filter((f) => f.includes('.lock') || f.endsWith('.tmp'))).toEqual(
      [],
    );
  });

  it('a lock left by a killed run is reported after the wait, naming the file; nothing is written', async () => {
    expect((await cli(['keygen', '--out', 'stale'])).code).toBe(0);
    const before = ringIds('stale');
    writeFileSync(join(dir, 'stale', 'keyring.json.lock'), '12345\n');
    const r = await cli(['keygen', '--out', 'stale', '--lock-timeout', '300']);
    expectOneLineError(r, /keyring\.json\.lock .*another `signledger keygen`/);
    expect(ringIds('stale')).toEqual(before);
    expect(readdirSync(join(dir, 'stale')).filter((f) => f.endsWith('.pem'))).toHaveLength(2);
    expect(r.stderr).toMatch(/waited 300 ms/);
    expect(existsSync(join(dir, 'stale', 'keyring.json.lock'))).toBe(true);
  });
});
