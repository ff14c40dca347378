/**
 * What `append` accepts from stdin and --metadata, and how it names a refused line: integers beyond
 * the safe range are refused (never stored rounded), positions are 1-based stdin lines throughout,
 * a leading UTF-8 BOM is accepted, and --quiet prints only the summary.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findUnsafeInteger, parseJsonObject } from '../../src/cli/json-input.js';
import { expectOneLineError, runCli, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
const cli = (args: string[], input?: string | Buffer, env?: Record<string, string>) =>
  runCli(args, { cwd: dir, input, env });
const dbHash = () =>
  createHash('sha256')
    .update(readFileSync(join(dir, 'signledger.db')))
    .digest('hex');

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('signledger-input-'));
  expect((await cli(['init', '--log-key-name', 'input.example/log'])).code).toBe(0);
});
afterAll(() => cleanup());

describe('integers beyond ±(2^53-1)', () => {
  it('findUnsafeInteger reports integer literals only, with offset and path', () => {
    expect(findUnsafeInteger('{"a":123456789012345678901234567890}')).toEqual({
      offset: 5,
      literal: '123456789012345678901234567890',
      path: '/a',
    });
    expect(findUnsafeInteger('{"a":[1,{"b~/":-9007199254740992}]}')).toMatchObject({
      literal: '-9007199254740992',
      path: '/a/1/b~0~1',
    });
    // A string that looks like a number, a name, the largest safe integers: fine.
    expect(
      findUnsafeInteger(
        '{"123456789012345678901234567890":"123456789012345678901234567890","m":9007199254740991,"n":-9007199254740991}',
      ),
    ).toBeNull();
    // Fractions and exponents are ordinary JSON doubles.
    expect(
      findUnsafeInteger('{"a":1e30,"b":123456789012345678901234567890.5,"c":0.1,"d":1E+300}'),
    ).toBeNull();
    // Escaped quotes in strings do not end them; arrays count their elements.
    expect(findUnsafeInteger('{"s":"x\\"1\\\\","t":[0,1,99999999999999999]}')).toMatchObject({
      path: '/t/2',
    });
    expect(() => parseJsonObject('{"a":9007199254740992}', '--metadata')).toThrow(
      /^--metadata: integer 9007199254740992 at offset 5 \(\/a\) is outside the safe integer range/,
    );
  });

  it('append refuses them (exit 2, nothing written), naming the line and position; --metadata too', async () => {
    const before = dbHash();
    const [big, negative, meta] = await Promise.all([
      cli(['append'], '{"ok":1}\n{"a":123456789012345678901234567890}\n'),
      cli(['append'], '{"nested":{"list":[1,-9007199254740993]}}\n'),
      cli(['append', '--metadata', '{"batch":18446744073709551615}'], '{"a":1}\n'),
    ]);
    expectOneLineError(
      big,
      /stdin line 2: integer 123456789012345678901234567890 at offset 5 \(\/a\) is outside the safe integer range .* send it as a string \("123456789012345678901234567890"\)/,
    );
    expectOneLineError(
      negative,
      /stdin line 1: integer -9007199254740993 at offset 21 \(\/nested\/list\/1\)/,
    );
    expectOneLineError(meta, /--metadata: integer 18446744073709551615 .*\(\/batch\)/);
    expect(dbHash()).toBe(before);
  });

  it('accepts safe integers and doubles written with a fraction or exponent', async () => {
    const r = await cli(
      ['append', '--json'],
      '{"max":9007199254740991,"min":-9007199254740991,"f":0.1,"e":1e30,"big":123456789012345678901234567890.0}\n',
    );
    expect(r.code, r.stderr).toBe(0);
    const show = await cli([
      'show',
      String((JSON.parse(r.stdout) as { index: number }[])[0]!.index),
      '--json',
    ]);
    expect((JSON.parse(show.stdout) as { data: unknown }).data).toEqual({
      max: 9007199254740991,
      min: -9007199254740991,
      f: 0.1,
      e: 1e30,
      big: 1.2345678901234568e29,
    });
  });
});

describe('messages count stdin lines from 1; BOM; encrypted keys', () => {
  it('an event the ledger refuses is named by its stdin line, as parse errors are', async () => {
    const before = dbHash();
    const [refused, parse] = await Promise.all([
      cli(['append'], '{"a":1}\n\n{}\n'),
      cli(['append'], '{"a":1}\n\n{"b":}\n'),
    ]);
    expectOneLineError(refused, /stdin line 3: invalid event: entry data must not be empty$/);
    expect(refused.stderr).not.toMatch(/event [0-9]/);
    expectOneLineError(parse, /stdin line 3: invalid JSON/);
    expect(dbHash()).toBe(before);
  });

  it('stdin that is not UTF-8 is refused (exit 2, nothing written), naming the first bad line', async () => {
    const before = dbHash();
    // Before, the invalid bytes were stored as "\ufffd\ufffd" with exit 0.
    const bad = (s: string) => Buffer.from(s, 'latin1');
    const [first, third, truncated] = await Promise.all([
      cli(['append'], bad('{"a":"\xff\xfe"}\n')),
      cli(['append'], bad('{"a":1}\n\n{"a":"caf\xe9"}\n{"a":"\xff"}\n')),
      // A multi-byte sequence cut short at the end of the input.
      cli(['append'], Buffer.concat([bad('{"a":1}\n{"a":"'), Buffer.from('€').subarray(0, 2)])),
    ]);
    expectOneLineError(first, /: stdin line 1: not UTF-8$/);
    expectOneLineError(third, /: stdin line 3: not UTF-8$/);
    expectOneLineError(truncated, /: stdin line 2: not UTF-8$/);
    expect(dbHash()).toBe(before);
    // Valid multi-byte UTF-8 is kept as it is.
    const ok = await cli(['append', '--json'], Buffer.from('{"a":"café €😀"}\n', 'utf8'));
    expect(ok.code, ok.stderr).toBe(0);
    const shown = await cli(['show', String(JSON.parse(ok.stdout)[0].index), '--json']);
    expect(JSON.parse(shown.stdout).data).toEqual({ a: 'café €😀' });
  });

  it('a leading UTF-8 BOM on stdin and in files is not part of the input', async () => {
    const r = await cli(['append', '--json'], '\uFEFF{"bom":true}\r\n{"bom":false}\r\n');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveLength(2);
    const cp = await cli(['checkpoint']);
    expect(cp.code).toBe(0);
    writeFileSync(join(dir, 'trusted-bom.txt'), `\uFEFF${cp.stdout}`);
    const v = await cli(['verify', '--trusted', 'trusted-bom.txt', '--json']);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, assurance: 'trusted' });
  });

  it('an encrypted --sign-key without a passphrase names --passphrase-env; a wrong one says so', async () => {
    const kg = await cli(
      ['keygen', '--type', 'ed25519', '--out', 'enc', '--passphrase-env', 'PW', '--json'],
      '',
      {
        PW: 'correct horse',
      },
    );
    expect(kg.code, kg.stderr).toBe(0);
    const key = (JSON.parse(kg.stdout) as { privateKey: string }).privateKey;
    const before = dbHash();
    const [none, wrong, right] = await Promise.all([
      cli(['append', '--sign-key', key], '{"a":1}\n'),
      cli(['append', '--sign-key', key, '--passphrase-env', 'PW'], '{"a":1}\n', { PW: 'wrong' }),
      cli(['append', '--sign-key', key, '--passphrase-env', 'PW', '--json'], '{"a":1}\n', {
        PW: 'correct horse',
      }),
    ]);
    expectOneLineError(none, /wrong key: .* is encrypted: .* pass --passphrase-env VAR/);
    expect(none.stderr).not.toMatch(/\{ passphrase \}/);
    expectOneLineError(wrong, /wrong key: cannot decrypt .* \$PW \(--passphrase-env\): wrong passphrase/);
    expect(right.code, right.stderr).toBe(0);
    expect((JSON.parse(right.stdout) as { signatures: number }[])[0]!.signatures).toBe(1);
    expect(dbHash()).not.toBe(before);
  });
});
