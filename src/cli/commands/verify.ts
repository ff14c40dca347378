import type { Command } from 'commander';
import { action, examples, intOption, withLedger } from '../command.js';
import { CliError, EXIT_OK, EXIT_TAMPERED } from '../errors.js';
import { keyIdOf, loadKeyRing, readTextFile } from '../keys.js';
import { reportText } from '../output.js';
import { progressBar } from '../progress.js';

export function registerVerify(program: Command): void {
  const cmd = program
    .command('verify')
    .description(
      'verify the whole log: hashes, links, data digests, signatures, tree and checkpoints (exit 0 valid, 1 tampered, 2 error)',
    )
    .option(
      '--key <vkey>',
      "the log's verifier key (name+hash+base64) or a file holding it (default: the log key files beside the database, or --key-file)",
    )
    .option('--trusted <file>', 'a checkpoint you kept from earlier (note text): the log must extend it')
    .option(
      '--keys <keyring.json>',
      'trusted entry-signing keys (as written by `signledger keygen`); signatures by other keys fail',
    )
    .option(
      '--require-signatures <n>',
      'every event needs n valid signatures from distinct keys (with --keys)',
    )
    .option('--no-progress', 'no progress bar even on a terminal')
    .action(
      action<{
        key?: string;
        trusted?: string;
        keys?: string;
        requireSignatures?: string;
        progress: boolean;
      }>(async (ctx, _args, o) => {
        const trusted = o.trusted === undefined ? undefined : readTextFile(o.trusted, 'trusted checkpoint');
        if (o.requireSignatures !== undefined && o.keys === undefined)
          throw new CliError('--require-signatures needs --keys (the trusted signing keys)');
        const keys = o.keys === undefined ? undefined : loadKeyRing(o.keys);
        const logKey = ctx.verifyingLogKey(o.key, trusted !== undefined ? 'verify' : 'optional');
        const bar = progressBar('verifying', { enabled: o.progress && !ctx.json });
        let stored = 0;
        const report = await withLedger(
          ctx,
          { readOnly: true, ...(logKey ? { logKey } : {}) },
          async (ledger) => {
            stored = (await ledger.backend.listCheckpoints()).length;
            return ledger
              .verify({
                ...(trusted !== undefined ? { trusted } : {}),
                ...(keys ? { keys } : {}),
                ...(o.requireSignatures !== undefined
                  ? { requireSignatures: intOption(o.requireSignatures, '--require-signatures') }
                  : {}),
                onProgress: (done, total) => bar.update(done, total),
              })
              .finally(() => bar.stop());
          },
        );
        const signatures =
          stored === 0 && trusted === undefined
            ? 'none stored'
            : logKey
              ? `signatures checked with the log key ${keyIdOf(logKey.verifierKey)}`
              : 'signatures not checked (no log key: pass --key)';
        ctx.print(() => reportText(report, `ledger ${ctx.ledgerName} in ${ctx.label}`, signatures), report);
        return report.ok ? EXIT_OK : EXIT_TAMPERED;
      }),
    );
  examples(cmd, [
    'signledger verify',
    'signledger verify --trusted checkpoint-2026-01.txt --keys keys/keyring.json',
    'signledger verify --db copy-of-audit.db --key log.vkey   # an auditor with only the verifier key',
    'signledger verify --json > report.json || echo "tampered or error: $?"',
  ]);
}
