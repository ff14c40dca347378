import { isUtf8 } from 'node:buffer';
import type { Command } from 'commander';
import { ValidationError } from '../../errors.js';
import { action, examples, withLedger } from '../command.js';
import { checkSecretFileMode } from '../context.js';
import { CliError } from '../errors.js';
import { parseJsonObject, stripBom } from '../json-input.js';
import { loadSigner } from '../keys.js';

/** Default for --max-input: stdin is held in memory and appended in one transaction. */
export const DEFAULT_MAX_INPUT = 64 * 1024 * 1024;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `65536`, `64k`, `64KiB`, `64M`, `1GiB` (binary units) → bytes. */
export function parseSize(value: string, name: string): number {
  const m = /^\s*([0-9]+)\s*([kmg]?)(?:i?b)?\s*$/i.exec(value);
  const n = m ? Number(m[1]) * UNITS[m[2]!.toLowerCase()]! : Number.NaN;
  if (!m || !Number.isSafeInteger(n) || n < 1)
    throw new CliError(`${name} must be a size in bytes, e.g. 65536, 512k or 64MiB`);
  return n;
}

/** All of stdin, refusing (before anything is written) input larger than `max` bytes. */
async function readStdin(max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of process.stdin) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    bytes += b.byteLength;
    if (bytes > max) {
      process.stdin.destroy();
      throw new CliError(
        `stdin is larger than --max-input (${max} bytes): nothing was appended; split the input or raise --max-input`,
        'INPUT_TOO_LARGE',
      );
    }
    chunks.push(b);
  }
  const input = Buffer.concat(chunks);
  // Strict UTF-8: a lossy decode would store U+FFFD in place of the bytes the caller sent.
  if (!isUtf8(input)) throw new CliError(`stdin line ${firstBadLine(input)}: not UTF-8`, 'NOT_UTF8');
  // A leading UTF-8 byte order mark (Windows editors write one) is not part of the first line.
  return stripBom(input.toString('utf8'));
}

/** The 1-based line (split at "\n", which never occurs inside a UTF-8 sequence) that is not UTF-8. */
function firstBadLine(bytes: Buffer): number {
  let line = 1;
  let start = 0;
  for (let nl = bytes.indexOf(0x0a); ; nl = bytes.indexOf(0x0a, start), line++) {
    const end = nl < 0 ? bytes.length : nl;
    if (!isUtf8(bytes.subarray(start, end)) || nl < 0) return line;
    start = nl + 1;
  }
}

/** The library numbers the events of a batch from 0 (`event 3: …`, path `/3/…`): stdin line instead. */
function invalidEvent(err: ValidationError, lineOf: readonly number[]): CliError {
  const m = /^\/([0-9]+)/.exec(err.path ?? '');
  const line = m ? lineOf[Number(m[1])] : undefined;
  if (line === undefined) return new CliError(`invalid event: ${err.message}`, err.code);
  const inner =
    err.cause instanceof ValidationError ? err.cause.message : err.message.replace(/^event [0-9]+: /, '');
  return new CliError(`stdin line ${line}: invalid event: ${inner}`, err.code);
}

export function registerAppend(program: Command): void {
  const cmd = program
    .command('append')
    .description('append events: one JSON object per line on stdin, all or nothing')
    .option('--metadata <json>', 'metadata object stored (and committed) with every event')
    .option('--sign-key <pem>', 'sign every entry with this private key file (Ed25519, ECDSA or RSA PEM)')
    .option('--passphrase-env <var>', 'environment variable holding the passphrase of --sign-key')
    .option(
      '--max-input <size>',
      'largest stdin accepted, all of it appended in one transaction (bytes, or 512k, 64MiB, 1GiB)',
      '64MiB',
    )
    .option('-q, --quiet', 'print one summary line (object with --json) instead of one line per entry')
    .action(
      action<{
        metadata?: string;
        signKey?: string;
        passphraseEnv?: string;
        maxInput: string;
        quiet?: boolean;
      }>(async (ctx, _args, o) => {
        const maxInput = parseSize(o.maxInput, '--max-input');
        const metadata = o.metadata === undefined ? undefined : parseJsonObject(o.metadata, '--metadata');
        const signer = o.signKey === undefined ? undefined : loadSigner(o.signKey, o.passphraseEnv);
        if (o.signKey !== undefined) checkSecretFileMode(o.signKey, 'the signing key', true);
        // Parse everything before writing anything: one bad line appends nothing. The input is
        // bounded by --max-input, so holding it (and the one atomic batch) in memory is bounded too.
        const events: Record<string, unknown>[] = [];
        /** The stdin line (1-based) of each event, for messages. */
        const lineOf: number[] = [];
        const lines = (await readStdin(maxInput)).split('\n');
        lines.forEach((line, i) => {
          if (line.trim() === '') return;
          events.push(parseJsonObject(line.replace(/\r$/, ''), `stdin line ${i + 1}`));
          lineOf.push(i + 1);
        });
        if (events.length === 0)
          throw new CliError('nothing to append: give one JSON object per line on stdin');
        const entries = await withLedger(ctx, { readOnly: false }, async (ledger) => {
          try {
            return await ledger.appendBatch(events, {
              ...(metadata ? { metadata } : {}),
              ...(signer ? { signer } : {}),
            });
          } catch (err) {
            if (err instanceof ValidationError) throw invalidEvent(err, lineOf);
            throw err;
          }
        });
        if (o.quiet) {
          const first = entries[0]!;
          const last = entries[entries.length - 1]!;
          const signatures = entries.reduce((n, e) => n + e.signatures.length, 0);
          ctx.print(
            `appended ${entries.length} entries (#${first.index}..#${last.index}); last hash ${last.hash}`,
            {
              appended: entries.length,
              firstIndex: first.index,
              lastIndex: last.index,
              lastId: last.id,
              lastHash: last.hash,
              signatures,
            },
          );
          return 0;
        }
        ctx.print(
          () => entries.map((e) => `#${e.index}  ${e.id}  ${e.hash}`).join('\n'),
          entries.map((e) => ({
            index: e.index,
            id: e.id,
            hash: e.hash,
            timestamp: e.timestamp.toISOString(),
            signatures: e.signatures.length,
          })),
        );
        return 0;
      }),
    );
  examples(cmd, [
    `echo '{"action":"login","user":"alice"}' | signledger append`,
    `cat events.jsonl | signledger append --metadata '{"source":"batch-7"}'`,
    `echo '{"action":"transfer","amount":10}' | signledger append --sign-key keys/ed25519-….pem`,
    'signledger append --quiet --max-input 512MiB < big-import.jsonl',
  ]);
}
