/** Glue between commander and the commands: the Context, ledger lifetime, exit codes. */
import type { Command } from 'commander';
import { NoteError } from '../errors.js';
import type { Ledger } from '../ledger/ledger.js';
import type { LogKey } from '../ledger/log-key.js';
import { checkpointSigners } from './checkpoint-notes.js';
import { Context, type GlobalOptions } from './context.js';
import { CliError } from './errors.js';
import type { GuardedBackend } from './guarded-backend.js';
import { keyIdOf } from './keys.js';

/** The exit code a command chose (0 when it returns nothing). */
let exitCode = 0;
let current: Context | null = null;

export function takeExitCode(): number {
  const c = exitCode;
  exitCode = 0;
  return c;
}

/** The context of the command that ran last (for error messages). */
export function currentContext(): Context | null {
  return current;
}

type Handler<O> = (ctx: Context, args: string[], opts: O) => Promise<number | undefined>;

/** Wrap a command handler: builds the Context from the global options and records its exit code. */
export function action<O>(handler: Handler<O>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const opts = cmd.opts() as O;
    const ctx = new Context(cmd.optsWithGlobals() as GlobalOptions);
    current = ctx;
    const positional = args.slice(0, -2).map(String);
    exitCode = (await handler(ctx, positional, opts)) ?? 0;
  };
}

/** Open, run, and always close the ledger. */
export async function withLedger<T>(
  ctx: Context,
  o: { readOnly: boolean; logKey?: LogKey },
  fn: (ledger: Ledger, backend: GuardedBackend) => Promise<T>,
): Promise<T> {
  const { ledger, backend } = await ctx.open(o);
  try {
    return await fn(ledger, backend);
  } catch (err) {
    if (
      o.logKey &&
      err instanceof NoteError &&
      (err.reason === 'no_verified_signature' || err.reason === 'invalid_signature')
    ) {
      const id = keyIdOf(o.logKey.verifierKey);
      // Name the key the ledger's checkpoints are signed by, so the user can find the right file.
      const latest = await ledger.backend.latestCheckpoint().catch(() => null);
      const signers = latest ? checkpointSigners(latest.note) : null;
      const by = signers?.length ? ` but by ${signers.join(', ')}` : '';
      throw new CliError(
        `wrong key: the checkpoints of ledger "${ctx.ledgerName}" in ${ctx.label} are not signed by the log key ${id} (from ${ctx.logKeySource ?? `${ctx.keyFile} or ${ctx.vkeyFile}`})${by}: pass this ledger's key with --key-file`,
        'WRONG_KEY',
      );
    }
    throw err;
  } finally {
    await ledger.close();
  }
}

/** Example lines appended to a command's --help. */
export function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

export function intOption(value: string | undefined, name: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new CliError(`${name} must be an integer >= ${min}`);
  }
  return n;
}
