/**
 * A ledger's log key is pinned when the ledger is created: `init` signs a checkpoint of the empty log
 * with the new key, and `import` stores the bundle's checkpoint. `checkpoint` then refuses any other
 * key (exit 2, `wrong key:`), e.g. the signledger.key of another ledger that the default lookup
 * (signledger.key beside the database) finds. Before, the first checkpoint of a new ledger could be
 * signed by another ledger's key, and the ledger's own key was refused from then on.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOneLineError, runCli, tempDir } from './helpers.js';

let root: string;
let cleanup: () => void;
/** Each test in its own directory, so the key files one creates are not beside another's store. */
let dir: string;
const cli = (args: string[], input?: string) => runCli(args, { cwd: dir, input });
const fresh = (name: string) => {
  dir = join(root, name);
  mkdirSync(dir);
};

beforeAll(() => {
  ({ dir: root, cleanup } = tempDir('signledger-key-pin-'));
});
afterAll(() => cleanup());

/** The `name+keyhash` signing the first signature line of a note. */
const signer = (note: string) => /\n— (\S+) /.exec(note)?.[1];

describe("a ledger's log key is pinned at creation", () => {
  it('two databases in one directory: the other ledger’s signledger.key is refused', async () => {
    fresh('two-dbs');
    expect((await cli(['init', '--db', 'a.db', '--log-key-name', 'a.test/log'])).code).toBe(0);
    const b = await cli(['init', '--db', 'b.db', '--key-file', 'b.key', '--log-key-name', 'b.test/log']);
    expect(b.code, b.stderr).toBe(0);
    expect((await cli(['append', '--db', 'b.db'], '{"x":1}\n')).code).toBe(0);

    // signledger.key beside b.db is a.db's key: refused, nothing signed.
    const wrong = await cli(['checkpoint', '--db', 'b.db']);
    expectOneLineError(wrong, /^signledger: error: wrong key: .*a\.test\/log\+[0-9a-f]{8}.*b\.test\/log\+/);
    const right = await cli(['checkpoint', '--db', 'b.db', '--key-file', 'b.key']);
    expect(right.code, right.stderr).toBe(0);
    expect(signer(right.stdout)).toMatch(/^b\.test\/log$/);
    const v = await cli(['verify', '--db', 'b.db', '--key-file', 'b.key', '--json']);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, size: 1, assurance: 'checkpoint' });
  });

  it('two ledgers in one store (--ledger): the default ledger’s key is refused for the other', async () => {
    fresh('two-ledgers');
    const db = ['--db', 'shared.db'];
    expect((await cli(['init', ...db, '--log-key-name', 'one.test/log'])).code).toBe(0);
    const two = await cli([
      'init',
      ...db,
      '--ledger',
      'two',
      '--key-file',
      'two.key',
      '--log-key-name',
      'two.test/log',
    ]);
    expect(two.code, two.stderr).toBe(0);
    expect((await cli(['append', ...db, '--ledger', 'two'], '{"x":2}\n')).code).toBe(0);
    expectOneLineError(await cli(['checkpoint', ...db, '--ledger', 'two']), /wrong key: /);
    const ok = await cli(['checkpoint', ...db, '--ledger', 'two', '--key-file', 'two.key']);
    expect(ok.code, ok.stderr).toBe(0);
    // The default ledger still signs with its own key.
    const one = await cli(['checkpoint', ...db]);
    expect(one.code, one.stderr).toBe(0);
    expect(signer(one.stdout)).toBe('one.test/log');
  });

  it('an imported ledger is pinned by the bundle checkpoint, whatever key files sit beside the store', async () => {
    fresh('import');
    // A bundle of b.db's log, imported as ledger mirror into shared.db, beside which signledger.key and
    // signledger.vkey belong to ledger "default" (one.test/log).
    expect((await cli(['init', '--db', 'shared.db', '--log-key-name', 'one.test/log'])).code).toBe(0);
    const b = ['--db', 'b.db', '--key-file', 'b.key'];
    expect((await cli(['init', ...b, '--log-key-name', 'b.test/log'])).code).toBe(0);
    expect((await cli(['append', ...b], '{"x":1}\n')).code).toBe(0);
    expect((await cli(['export', ...b, '--checkpoint', '--out', 'b-bundle'])).code).toBe(0);
    const bvkey = readFileSync(join(dir, 'b.vkey'), 'utf8').trim();
    const imp = await cli(['import', 'b-bundle', '--db', 'shared.db', '--ledger', 'mirror', '--key', bvkey]);
    expect(imp.code, imp.stderr).toBe(0);
    expect((await cli(['append', '--db', 'shared.db', '--ledger', 'mirror'], '{"x":3}\n')).code).toBe(0);
    expectOneLineError(await cli(['checkpoint', '--db', 'shared.db', '--ledger', 'mirror']), /wrong key: /);
    const ok = await cli(['checkpoint', '--db', 'shared.db', '--ledger', 'mirror', '--key-file', 'b.key']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(signer(ok.stdout)).toBe('b.test/log');
  });
});
