/**
 * Exit codes and one-line error messages. 0: success (verify: valid); 1: verification found
 * tampering; 2: usage, input, key or I/O error (nothing was verified or written).
 */
import { IntegrityError, NoteError, SignLedgerError } from '../errors.js';

export const EXIT_OK = 0;
export const EXIT_TAMPERED = 1;
export const EXIT_ERROR = 2;

/** An error the CLI raises itself, with its message ready for the user. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: string = 'USAGE',
    readonly exitCode: number = EXIT_ERROR,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

function causes(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = err, i = 0; e !== undefined && e !== null && i < 8; i++) {
    out.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

/** True when a SQLite (or other) lock made the operation give up. */
export function isLockError(err: unknown): boolean {
  return causes(err).some((e) => {
    const code = (e as { code?: unknown }).code;
    return (
      code === 'SQLITE_BUSY' ||
      code === 'SQLITE_LOCKED' ||
      /database is locked/i.test(String((e as Error)?.message))
    );
  });
}

export interface DescribedError {
  code: string;
  message: string;
  exitCode: number;
}

/** Turn anything thrown into one line for stderr and an exit code. */
export function describeError(
  err: unknown,
  context: { db?: string; lockTimeoutMs?: number } = {},
): DescribedError {
  const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();
  if (err instanceof CliError)
    return { code: err.code, message: oneLine(err.message), exitCode: err.exitCode };
  if (isLockError(err)) {
    return {
      code: 'LOCKED',
      message:
        `the database ${context.db ?? ''} is locked by another process (gave up after ${context.lockTimeoutMs ?? 0} ms); retry, or raise --lock-timeout`.replace(
          '  ',
          ' ',
        ),
      exitCode: EXIT_ERROR,
    };
  }
  if (err instanceof IntegrityError)
    return { code: err.code, message: oneLine(`${err.kind}: ${err.message}`), exitCode: EXIT_TAMPERED };
  if (
    err instanceof NoteError &&
    (err.reason === 'no_verified_signature' || err.reason === 'invalid_signature')
  ) {
    return { code: 'WRONG_KEY', message: oneLine(`wrong key: ${err.message}`), exitCode: EXIT_ERROR };
  }
  if (err instanceof SignLedgerError)
    return { code: err.code, message: oneLine(err.message), exitCode: EXIT_ERROR };
  const sys = err as NodeJS.ErrnoException;
  if (sys && typeof sys.code === 'string' && typeof sys.syscall === 'string') {
    const what = sys.path ? ` ${sys.path}` : '';
    const reason =
      sys.code === 'ENOENT'
        ? 'no such file or directory'
        : sys.code === 'EACCES'
          ? 'permission denied'
          : sys.code === 'EEXIST'
            ? 'already exists'
            : sys.message;
    return { code: sys.code, message: `cannot ${sys.syscall}${what}: ${reason}`, exitCode: EXIT_ERROR };
  }
  return {
    code: 'INTERNAL',
    message: oneLine(err instanceof Error ? err.message : String(err)),
    exitCode: EXIT_ERROR,
  };
}
