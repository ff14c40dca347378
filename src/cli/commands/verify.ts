import type { Command } from 'commander';
import {
  checkpointSigners,
  namesKey,
  readTrustedCheckpoint,
  requireTrustedSignedBy,
} from '../checkpoint-notes.js';
import { action, examples, intOption, withLedger } from '../command.js';
import { CliError, EXIT_OK, EXIT_TAMPERED } from '../errors.js';
import { keyIdOf, loadKeyRing } from '../keys.js';
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
        // A file that is not a checkpoint is an input error (exit 2), not a failed verification.
        const t = o.trusted === undefined ? undefined : readTrustedCheckpoint(o.trusted);
        const trusted = t?.text;
        if (o.requireSignatures !== undefined && o.keys === undefined)
          throw new CliError('--require-signatures needs --keys (the trusted signing keys)');
        const keys = o.keys === undefined ? undefined : loadKeyRing(o.keys);
        const logKey = ctx.verifyingLogKey(o.key, trusted !== undefined ? 'verify' : 'optional');
        const keySource = ctx.logKeySource ?? 'the log key file';
        if (t && logKey) requireTrustedSignedBy(o.trusted!, t.signers, logKey.verifier, keySource);
        const bar = progressBar('verifying', { enabled: o.progress && !ctx.json });
        let stored = 0;
        const report = await withLedger(
          ctx,
          { readOnly: true, ...(logKey ? { logKey } : {}) },
          async (ledger) => {
            const cps = await ledger.backend.listCheckpoints();
            stored = cps.length;
            // Stored checkpoints of which none even names the key (C2SP key id: name and key hash)
            // mean the key is not this log's: exit 2, as checkpoint says. With a trusted checkpoint
            // signed by the key (checked above) the key is right, and such checkpoints are tampering
            // for verify to report; so is a checkpoint naming the key whose signature fails.
            if (logKey && !t && cps.length > 0) {
              const signers = cps.map((c) => checkpointSigners(c.note));
              if (signers.every((s) => s !== null && !namesKey(s, logKey.verifier))) {
                const others = [...new Set(signers.flatMap((s) => s ?? []))].join(', ');
                throw new CliError(
                  `wrong key: none of the ${cps.length} stored checkpoint(s) in ${ctx.label} is signed by the log key ${keyIdOf(logKey.verifierKey)} (from ${keySource}); they are signed by ${others}. Pass this log's key (--key or --key-file); if it is the right key, the stored checkpoints were replaced`,
                  'WRONG_KEY',
                );
              }
            }
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
