import type { Command } from 'commander';
import { parseJsonStrict } from '../../encoding/json.js';
import { ValidationError } from '../../errors.js';
import { action, examples, withLedger } from '../command.js';
import { CliError } from '../errors.js';
import { loadSigner } from '../keys.js';

async function readStdin(): Promise<string> {
  process.stdin.setEncoding('utf8');
  let text = '';
  for await (const chunk of process.stdin) text += chunk as string;
  return text;
}

function parseObject(text: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = parseJsonStrict(text);
  } catch (err) {
    throw new CliError(`${what}: ${(err as Error).message}`, 'NOT_JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new CliError(`${what}: expected a JSON object`, 'NOT_JSON');
  return v as Record<string, unknown>;
}

export function registerAppend(program: Command): void {
  const cmd = program
    .command('append')
    .description('append events: one JSON object per line on stdin, all or nothing')
    .option('--metadata <json>', 'metadata object stored (and committed) with every event')
    .option('--sign-key <pem>', 'sign every entry with this private key file (Ed25519, ECDSA or RSA PEM)')
    .option('--passphrase-env <var>', 'environment variable holding the passphrase of --sign-key')
    .action(
      action<{ metadata?: string; signKey?: string; passphraseEnv?: string }>(async (ctx, _args, o) => {
        const metadata = o.metadata === undefined ? undefined : parseObject(o.metadata, '--metadata');
        const signer = o.signKey === undefined ? undefined : loadSigner(o.signKey, o.passphraseEnv);
        // Parse everything before writing anything: one bad line appends nothing.
        const events: Record<string, unknown>[] = [];
        const lines = (await readStdin()).split('\n');
        lines.forEach((line, i) => {
          if (line.trim() === '') return;
          events.push(parseObject(line.replace(/\r$/, ''), `stdin line ${i + 1}`));
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
            if (err instanceof ValidationError) throw new CliError(`invalid event: ${err.message}`, err.code);
            throw err;
          }
        });
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
  ]);
}
