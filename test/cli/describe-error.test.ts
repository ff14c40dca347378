/**
 * describeError, the one-line form of anything a command throws: an error that is none of the CLI's
 * or the library's own, nor a system call's (a bug, or a runtime limit such as "Invalid string
 * length"), carries the documented `internal error:` prefix and exits 2, as an uncaught crash does.
 */
import { describe, expect, it } from 'vitest';
import { CliError, describeError } from '../../src/cli/errors.js';
import { IntegrityError, ValidationError } from '../../src/errors.js';

describe('describeError', () => {
  it('prefixes errors that are not the CLI’s, the library’s or a system call’s with `internal error:`', () => {
    expect(describeError(new RangeError('Invalid string length'))).toEqual({
      code: 'INTERNAL',
      message: 'internal error: Invalid string length',
      exitCode: 2,
    });
    expect(describeError('thrown text\nsecond line')).toMatchObject({
      code: 'INTERNAL',
      message: 'internal error: thrown text second line',
      exitCode: 2,
    });
  });

  it('leaves the others as they are', () => {
    expect(describeError(new CliError('missing file: x'))).toMatchObject({ message: 'missing file: x' });
    expect(describeError(new ValidationError('bad input'))).toMatchObject({
      message: 'bad input',
      exitCode: 2,
    });
    expect(
      describeError(new IntegrityError({ kind: 'hash_mismatch', message: 'entry 3 changed' })),
    ).toMatchObject({ message: 'hash_mismatch: entry 3 changed', exitCode: 1 });
    const enoent = Object.assign(new Error('ENOENT'), { code: 'ENOENT', syscall: 'open', path: 'x.db' });
    expect(describeError(enoent)).toMatchObject({ message: 'cannot open x.db: no such file or directory' });
  });
});
