/** The `signledger` command line: global options, commands, exit codes. */
import { Command, CommanderError } from 'commander';
import { currentContext, examples, takeExitCode } from './command.js';
import { registerAppend } from './commands/append.js';
import { registerBundle } from './commands/bundle.js';
import { registerCheckpoint } from './commands/checkpoint.js';
import { registerInit } from './commands/init.js';
import { registerKeygen } from './commands/keygen.js';
import { registerRead } from './commands/read.js';
import { registerVerify } from './commands/verify.js';
import { describeError, EXIT_ERROR, EXIT_OK } from './errors.js';
import { escapeControls } from './output.js';

export const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = new Command('signledger')
    .description(
      'Tamper-evident audit log: hash-chained entries in an RFC 9162 Merkle tree with signed C2SP checkpoints.',
    )
    .version(VERSION, '-V, --version')
    .option(
      '--db <url>',
      'ledger store: a SQLite file, sqlite:…, postgres://…, redis://…, mongodb://… (env SIGNLEDGER_URL; default ./signledger.db)',
    )
    .option('--ledger <name>', 'ledger name inside the store (default "default")')
    .option(
      '--key-file <path>',
      'secret log key file (env SIGNLEDGER_KEY_FILE; default signledger.key beside the SQLite file)',
    )
    .option(
      '--lock-timeout <ms>',
      'how long to wait for a database (or keygen: a keyring) locked by another writer',
      '5000',
    )
    .option('--json', 'machine-readable output on stdout')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
      // Usage errors are printed by run() in the CLI's own format (one line; JSON with --json).
      outputError: () => {},
    });
  registerInit(program);
  registerAppend(program);
  registerRead(program);
  registerVerify(program);
  registerCheckpoint(program);
  registerBundle(program);
  registerKeygen(program);
  examples(program, [
    'signledger init --log-key-name audit.example.com/payments',
    `echo '{"action":"login","user":"alice"}' | signledger append`,
    'signledger tail -n 20',
    'signledger verify',
    'signledger checkpoint',
    'signledger prove 0 --out entry-0.tlog-proof',
    'signledger export --out evidence/',
    'signledger verify-bundle evidence/ --key "$(cat signledger.vkey)"',
    'signledger keygen --type ed25519 --out keys/',
  ]);
  program.addHelpText(
    'after',
    '\nExit codes: 0 success (verification: valid), 1 verification failed (tampering), 2 usage, input, key or I/O error.\n',
  );
  return program;
}

/** Run the CLI on `argv` (process.argv form); resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return takeExitCode();
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0.
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      )
        return EXIT_OK;
      // A usage error (unknown command or option, missing argument or required option): the same
      // one line as every other error, JSON on stdout with --json, exit 2.
      const message = err.message
        .replace(/^error: /, '')
        .replace(/\s*\n\s*/g, ' ')
        .trim();
      process.stderr.write(escapeControls(`signledger: error: ${message} (run with --help for usage)\n`));
      if (argv.slice(2).includes('--json'))
        process.stdout.write(
          `${escapeControls(JSON.stringify({ ok: false, error: { code: 'USAGE', message } }))}\n`,
        );
      return EXIT_ERROR;
    }
    const ctx = currentContext();
    const d = describeError(err, ctx ? { db: ctx.label, lockTimeoutMs: ctx.lockTimeoutMs } : {});
    // Messages quote input (file names, ids, bundle contents): control characters escaped.
    process.stderr.write(`signledger: error: ${escapeControls(d.message)}\n`);
    if (ctx?.json)
      process.stdout.write(
        `${escapeControls(JSON.stringify({ ok: false, error: { code: d.code, message: d.message } }))}\n`,
      );
    if (process.env.SIGNLEDGER_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return d.exitCode;
  }
}
