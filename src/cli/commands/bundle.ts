/** export, verify-bundle and import: evidence that leaves the database. */

import { existsSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parseCheckpointBody } from '../../note/checkpoint.js';
import { parseVerifierKey } from '../../note/keys.js';
import { parseNote } from '../../note/signed-note.js';
import { VKEY_FILE } from '../../verify/bundle/format.js';
import { parseProofFile } from '../../verify/bundle/proof-file.js';
import { type BundleReport, type ProofReport, verifyBundle, verifyProofFile } from '../../verify/bundle.js';
import { exportBundle } from '../bundle-export.js';
import { importBundle } from '../bundle-import.js';
import { readTrustedCheckpoint, requireTrustedSignedBy } from '../checkpoint-notes.js';
import { action, examples, intOption, withLedger } from '../command.js';
import { CliError, EXIT_OK, EXIT_TAMPERED } from '../errors.js';
import { keyIdOf, loadKeyRing, readTextFile, resolveVkeyArg } from '../keys.js';
import { reportText } from '../output.js';
import { progressBar } from '../progress.js';

/**
 * The tree size the proof's checkpoint states, read without verifying it (for a failure message
 * only), or null when it cannot be read.
 */
function claimedSize(text: string): string | null {
  try {
    return parseCheckpointBody(parseNote(parseProofFile(text).checkpoint).text, { allowBigSize: true })
      .sizeText;
  } catch {
    return null;
  }
}

/** True when the report's size and root come from a checkpoint that verified (else they are unset). */
function checkpointVerified(r: ProofReport): boolean {
  return r.rootHash !== '';
}

function proofText(r: ProofReport, text: string): string {
  let where = `entry ${r.index} in tree of size ${r.size} (origin ${r.origin})`;
  if (!checkpointVerified(r)) {
    const size = claimedSize(text);
    where = `entry ${r.index}${size === null ? '' : `; the checkpoint (not verified) says tree size ${size}`}`;
  }
  const lines = [r.ok ? 'proof: VALID' : 'proof: FAILED', `  ${where}`];
  if (r.entry) {
    lines.push(`  id ${r.entry.id}, ${r.entry.timestamp}, hash ${r.entry.hash}`);
    lines.push(`  data: ${r.entry.redacted ? '[redacted]' : JSON.stringify(r.entry.data)}`);
  }
  for (const c of r.checked) lines.push(`  ✓ ${c}`);
  for (const c of r.notChecked) lines.push(`  - not checked: ${c}`);
  if (r.failure) {
    lines.push(`  ✗ ${r.failure.kind}: ${r.failure.message}`);
    if (r.failure.expected !== undefined) lines.push(`    expected: ${r.failure.expected}`);
    if (r.failure.actual !== undefined) lines.push(`    actual:   ${r.failure.actual}`);
  }
  return lines.join('\n');
}

export function registerBundle(program: Command): void {
  const exp = program
    .command('export')
    .description('write a self-contained evidence bundle: entries, checkpoint, verifier key, manifest')
    .requiredOption('--out <dir>', 'bundle directory (created; must be empty)')
    .option(
      '--checkpoint',
      'sign a fresh checkpoint first so the bundle covers every entry (writes to the ledger)',
    )
    .option('--no-progress', 'no progress bar even on a terminal')
    .action(
      action<{ out: string; checkpoint?: boolean; progress: boolean }>(async (ctx, _args, o) => {
        const logKey = ctx.loadLogKey(o.checkpoint ? 'sign' : 'optional');
        const res = await withLedger(
          ctx,
          { readOnly: !o.checkpoint, ...(logKey ? { logKey } : {}) },
          async (ledger) => {
            const cp = o.checkpoint ? await ledger.checkpoint() : await ledger.latestCheckpoint();
            if (!cp)
              throw new CliError(
                'the ledger has no checkpoint yet: run `signledger checkpoint` (or pass --checkpoint)',
                'NO_CHECKPOINT',
              );
            const bar = progressBar('exporting', { enabled: o.progress && !ctx.json });
            return exportBundle(ledger, o.out, cp, logKey?.verifierKey, (d, t) => bar.update(d, t)).finally(
              () => bar.stop(),
            );
          },
        );
        if (res.notIncluded > 0) {
          ctx.note(
            `note: ${res.notIncluded} entries after the checkpoint are not in the bundle; run \`signledger checkpoint\` (or export --checkpoint) to include them`,
          );
        }
        ctx.print(
          `exported ${res.manifest.size} entries up to the checkpoint (root ${res.manifest.rootHash}) to ${res.dir}`,
          {
            dir: res.dir,
            ...res.manifest,
            notIncluded: res.notIncluded,
          },
        );
        return 0;
      }),
    );
  examples(exp, [
    'signledger export --out evidence/',
    'signledger export --checkpoint --out evidence-$(date +%F)/',
  ]);

  const vb = program
    .command('verify-bundle')
    .description(
      'verify a bundle directory or a .tlog-proof file offline: no database, no network (exit 0 valid, 1 tampered, 2 error)',
    )
    .argument('<path>', 'bundle directory (from export) or proof file (from prove)')
    .requiredOption(
      '--key <vkey>',
      "the log's verifier key (name+hash+base64) or a file holding it: pin it, never take it from the bundle",
    )
    .option(
      '--keys <keyring.json>',
      'trusted entry-signing keys; every signature must verify with one of them',
    )
    .option(
      '--require-signatures <n>',
      'every event needs n valid signatures from distinct keys (with --keys)',
    )
    .option(
      '--trusted <file>',
      'an earlier checkpoint you trust: the bundle must extend it (bundles only, not proof files)',
    )
    .option('--origin <origin>', 'checkpoint origin (default: the key name)')
    .option('--no-progress', 'no progress bar even on a terminal')
    .action(
      action<{
        key: string;
        keys?: string;
        requireSignatures?: string;
        trusted?: string;
        origin?: string;
        progress: boolean;
      }>(async (ctx, [path], o) => {
        const verifierKey = resolveVkeyArg(o.key);
        const keys = o.keys === undefined ? undefined : loadKeyRing(o.keys);
        const requireSignatures = intOption(o.requireSignatures, '--require-signatures');
        if (requireSignatures !== undefined && keys === undefined)
          throw new CliError('--require-signatures needs --keys (the trusted signing keys)');
        const st = await stat(path!).catch(() => null);
        if (!st) throw new CliError(`missing file: ${path} does not exist`, 'NOT_FOUND');
        // A proof file has no consistency proof from a trusted checkpoint to its own: refused rather
        // than ignored, so nobody reads a VALID as "extends my trusted checkpoint".
        if (st.isFile() && o.trusted !== undefined)
          throw new CliError(
            `--trusted applies to bundles only: ${path} is a proof file, which carries no consistency proof from a trusted checkpoint (verify a bundle, or the database with \`signledger verify --trusted\`)`,
          );
        // The trusted checkpoint is the auditor's own input: not a checkpoint, or not signed by the
        // pinned key at all, is an input error (exit 2); the bundle is the evidence (exit 1).
        const t = o.trusted === undefined ? undefined : readTrustedCheckpoint(o.trusted);
        if (t) requireTrustedSignedBy(o.trusted!, t.signers, parseVerifierKey(verifierKey), '--key');
        const common = {
          verifierKey,
          ...(keys ? { keys } : {}),
          ...(requireSignatures !== undefined ? { requireSignatures } : {}),
          ...(o.origin ? { origin: o.origin } : {}),
        };
        if (st.isFile()) {
          const text = readTextFile(path!, 'proof file');
          const r = await verifyProofFile(text, common);
          // The report's size is 0 until the checkpoint verifies: no size rather than a wrong one.
          ctx.print(() => proofText(r, text), checkpointVerified(r) ? r : { ...r, size: null });
          return r.ok ? EXIT_OK : EXIT_TAMPERED;
        }
        const bar = progressBar('verifying bundle', { enabled: o.progress && !ctx.json });
        let r: BundleReport;
        try {
          r = await verifyBundle(path!, {
            ...common,
            ...(t ? { trusted: t.text } : {}),
            onProgress: (done, total) => bar.update(done, total),
          });
        } finally {
          bar.stop();
        }
        ctx.print(
          () => reportText(r, `bundle ${path}`, `signature checked with the key ${keyIdOf(verifierKey)}`),
          r,
        );
        return r.ok ? EXIT_OK : EXIT_TAMPERED;
      }),
    );
  examples(vb, [
    'signledger verify-bundle evidence/ --key "audit.example.com/payments+1a2b3c4d+AV…"',
    'signledger verify-bundle evidence/ --key log.vkey --keys keys/keyring.json --require-signatures 1',
    'signledger verify-bundle entry-42.tlog-proof --key log.vkey',
  ]);

  const imp = program
    .command('import')
    .description(
      "verify a bundle and load it into a fresh ledger with the bundle's identity: same entries, same root (an interrupted import is resumed)",
    )
    .argument('<dir>', 'bundle directory')
    .option(
      '--key <vkey>',
      "the log's verifier key (name+hash+base64) or a file holding it, obtained from the log's operator: pin it, never take it from the bundle",
    )
    .option(
      '--trust-bundle-key',
      'check the bundle against its own log.vkey instead of --key (then nothing shows the bundle comes from the log you think); that key is not installed beside the store',
    )
    .option('--no-progress', 'no progress bar even on a terminal')
    .action(
      action<{ key?: string; trustBundleKey?: boolean; progress: boolean }>(async (ctx, [dir], o) => {
        const st = await stat(dir!).catch(() => null);
        if (!st) throw new CliError(`missing file: bundle ${dir} does not exist`, 'NOT_FOUND');
        if (!st.isDirectory())
          throw new CliError(
            `${dir} is not a bundle directory (import takes the directory written by \`signledger export\`)`,
            'NOT_FOUND',
          );
        if (o.key !== undefined && o.trustBundleKey)
          throw new CliError('give --key or --trust-bundle-key, not both');
        if (o.key === undefined && !o.trustBundleKey) {
          throw new CliError(
            "import needs the log's verifier key: pass --key VKEY (from the log's operator, never from the bundle), or --trust-bundle-key to accept the bundle's own log.vkey",
          );
        }
        let verifierKey: string;
        if (o.key !== undefined) verifierKey = resolveVkeyArg(o.key);
        else {
          const file = join(dir!, VKEY_FILE);
          if (!existsSync(file))
            throw new CliError(`malformed bundle: ${dir} has no ${VKEY_FILE} (pass --key)`, 'NOT_FOUND');
          verifierKey = resolveVkeyArg(file);
          ctx.note(
            `warning: --trust-bundle-key: checking the bundle against its own ${VKEY_FILE} (${keyIdOf(verifierKey)}); this shows the bundle is intact, not that it comes from the log you expect. The key is not installed beside the store: after confirming it with the log's operator, verify with --key`,
          );
        }
        const bar = progressBar('importing', { enabled: o.progress && !ctx.json });
        const res = await importBundle(ctx, dir!, verifierKey, (d, t) => bar.update(d, t)).finally(() =>
          bar.stop(),
        );
        // Keep the pinned verifier key beside the store so `verify` checks the imported checkpoint;
        // never one taken from the bundle.
        let vkeyFile: string | null = null;
        if (o.key !== undefined && !existsSync(ctx.keyFile) && !existsSync(ctx.vkeyFile)) {
          await writeFile(ctx.vkeyFile, `${verifierKey}\n`);
          vkeyFile = ctx.vkeyFile;
        }
        const resumed =
          res.resumedAt > 0 ? ` (resumed: the first ${res.resumedAt} were already there and matched)` : '';
        ctx.print(
          `imported ${res.size} entries into ledger "${res.meta.name}" in ${ctx.label}${resumed}; root ${res.rootHash}`,
          {
            db: ctx.label,
            ledger: res.meta.name,
            ledgerId: res.meta.ledgerId,
            size: res.size,
            resumedAt: res.resumedAt,
            rootHash: res.rootHash,
            verifierKey,
            keySource: o.key !== undefined ? 'key' : 'bundle',
            vkeyFile,
          },
        );
        return 0;
      }),
    );
  examples(imp, [
    'signledger import evidence/ --db sqlite:./copy.db --key log.vkey',
    'signledger import evidence/ --db sqlite:./copy.db --key "audit.example.com/payments+1a2b3c4d+AV…"',
  ]);
}
