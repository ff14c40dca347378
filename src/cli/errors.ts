/**
 * Exit codes and one-line error messages. 0: success (verify: valid); 1: verification found
 * tampering; 2: usage, input, key or I/O error (nothing was verified or written).
 */
import { IntegrityError, NoteError, SignLedgerError } from '../errors.js';
import { escapeControls } from './output.js';

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
  if (err instanceof IntegrityError) {
    // Tampering found on the way (a stored row that cannot be read, a tree checkpoint refuses to
    // sign, a bundle import refuses): exit 1 as verify's, one line; the library's pointer to its
    // verify() becomes the command that prints the report.
    const message = err.message.replace(
      '(run verify() for details)',
      '(run `signledger verify` for details)',
    );
    return { code: err.code, message: oneLine(`${err.kind}: ${message}`), exitCode: EXIT_TAMPERED };
  }
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
  // Neither ours nor the library's nor a system call's: a bug or a runtime limit (e.g. "Invalid
  // string length"), named as such, as the process handlers name an uncaught one.
  return {
    code: 'INTERNAL',
    message: oneLine(`internal error: ${err instanceof Error ? err.message : String(err)}`),
    exitCode: EXIT_ERROR,
  };
}

const INSTALLED = Symbol.for('signledger.cli.processHandlers');

/** A write to a reader that went away (`signledger tail | head -1`). */
export function isBrokenPipe(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED';
}

/**
 * Process-level safety nets for the executable (not for `run()`, which tests call in-process):
 *
 * - A broken pipe on stdout or stderr (the reader went away: `signledger tail -n 3000 | head -1`) is
 *   not an error: the rest of the output is discarded and the command ends with its own exit code
 *   (0 on success). It never turns into 1, which means "tampering found".
 * - Any other stdout error (e.g. a full disk under `> file`) means the output is incomplete: one
 *   error line on stderr and exit 2.
 * - An uncaught exception or unhandled rejection prints one error line (the stack only with
 *   SIGNLEDGER_DEBUG) and exits 2, never Node's default 1.
 */
export function installProcessHandlers(proc: NodeJS.Process = process): void {
  const p = proc as NodeJS.Process & { [INSTALLED]?: boolean };
  if (p[INSTALLED]) return;
  p[INSTALLED] = true;
  const fail = (what: string, err: unknown) => {
    try {
      const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ').trim();
      proc.stderr.write(`signledger: error: ${what}: ${escapeControls(message)}\n`);
      if (proc.env.SIGNLEDGER_DEBUG && err instanceof Error) proc.stderr.write(`${err.stack}\n`);
    } catch {
      // stderr is gone too: the exit code is all that is left.
    }
    proc.exit(EXIT_ERROR);
  };
  proc.stdout.on('error', (err) => {
    if (isBrokenPipe(err)) return;
    fail('cannot write the output', err);
  });
  proc.stderr.on('error', (err) => {
    if (isBrokenPipe(err)) return;
    proc.exit(EXIT_ERROR);
  });
  proc.on('uncaughtException', (err) => {
    if (isBrokenPipe(err)) return;
    fail('internal error', err);
  });
  proc.on('unhandledRejection', (reason) => {
    if (isBrokenPipe(reason)) return;
    fail('internal error', reason);
  });
}
