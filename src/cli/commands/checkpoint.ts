/** checkpoint (sign the current tree) and prove (an offline tlog-proof for one entry). */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { fromHex } from '../../encoding/bytes.js';
import { NotFoundError } from '../../errors.js';
import { formatProofFile, proofExtra } from '../../verify/bundle/proof-file.js';
import { action, examples, withLedger } from '../command.js';
import { CliError } from '../errors.js';
import { parseIdOrIndex } from '../output.js';

function refuseOverwrite(file: string): CliError {
  return new CliError(
    `refusing to overwrite ${file}: the file exists (pass --force to replace it)`,
    'EXISTS',
  );
}

export function registerCheckpoint(program: Command): void {
  const cp = program
    .command('checkpoint')
    .description(
      'sign a C2SP checkpoint for the current tree (proving it extends the previous one) and print it',
    )
    .action(
      action(async (ctx) => {
        const logKey = ctx.loadLogKey('sign');
        const signed = await withLedger(ctx, { readOnly: false, logKey }, (l) => l.checkpoint());
        ctx.print(signed.text, signed);
        return 0;
      }),
    );
  examples(cp, [
    'signledger checkpoint',
    'signledger checkpoint > checkpoints/$(date +%F).txt',
    'signledger checkpoint --json',
  ]);

  const prove = program
    .command('prove')
    .description('write an offline proof (C2SP tlog-proof with the entry and the checkpoint) for one entry')
    .argument('<id|index>', 'entry id or index')
    .option('--out <file>', 'write the proof here (default: stdout); conventionally *.tlog-proof')
    .option('--force', 'overwrite --out when the file exists (default: refuse)')
    .option(
      '--checkpoint',
      'sign a fresh checkpoint first (writes to the ledger); default: use the latest stored one',
    )
    .action(
      action<{ out?: string; checkpoint?: boolean; force?: boolean }>(async (ctx, [key], o) => {
        const k = parseIdOrIndex(key!);
        // Refuse before any work (and before --checkpoint writes to the ledger).
        if (o.out && !o.force && existsSync(o.out)) throw refuseOverwrite(o.out);
        const logKey = ctx.loadLogKey(o.checkpoint ? 'sign' : 'optional');
        const result = await withLedger(
          ctx,
          { readOnly: !o.checkpoint, ...(logKey ? { logKey } : {}) },
          async (ledger) => {
            const meta = await ledger.getMeta();
            const cp = o.checkpoint ? await ledger.checkpoint() : await ledger.latestCheckpoint();
            if (!cp)
              throw new CliError(
                'the ledger has no checkpoint yet: run `signledger checkpoint` (or pass --checkpoint)',
                'NO_CHECKPOINT',
              );
            const row =
              typeof k === 'number' ? await ledger.backend.getByIndex(k) : await ledger.backend.getById(k);
            if (!row)
              throw new NotFoundError(`no entry ${typeof k === 'number' ? `at index ${k}` : `with id ${k}`}`);
            if (row.index >= cp.size) {
              throw new CliError(
                `entry ${row.index} is newer than the latest checkpoint (size ${cp.size}): run \`signledger checkpoint\` first (or pass --checkpoint)`,
                'NO_CHECKPOINT',
              );
            }
            const proof = await ledger.proveInclusion(row.index, cp.size);
            const text = formatProofFile({
              index: row.index,
              path: proof.path.map((h) => fromHex(h)),
              extra: proofExtra(row, meta.hashAlgorithm),
              checkpoint: cp.text,
            });
            return { text, index: row.index, id: row.id, size: cp.size, rootHash: cp.rootHash };
          },
        );
        if (o.out) {
          try {
            // `wx`: never overwrite (nor follow a symlink planted meanwhile) unless --force.
            await writeFile(o.out, result.text, o.force ? {} : { flag: 'wx' });
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw refuseOverwrite(o.out);
            throw err;
          }
          ctx.print(`wrote proof of entry ${result.index} at tree size ${result.size} to ${o.out}`, {
            ...result,
            file: o.out,
          });
        } else if (ctx.json) {
          ctx.print('', result);
        } else {
          process.stdout.write(result.text);
        }
        return 0;
      }),
    );
  examples(prove, [
    'signledger prove 42 --out entry-42.tlog-proof',
    'signledger prove 42 --out entry-42.tlog-proof --force   # replace an older proof',
    'signledger prove 0190a5c2-… > login.tlog-proof',
    'signledger verify-bundle entry-42.tlog-proof --key "$(cat signledger.vkey)"',
  ]);
}
