import { mkdir, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { assertHashAlgorithm, type HashAlgorithm } from '../../crypto/hash.js';
import { generateLogKey } from '../../ledger/log-key.js';
import { isValidKeyName } from '../../note/keys.js';
import { action, examples } from '../command.js';
import { CliError } from '../errors.js';
import { writeSecretFile } from '../keys.js';

function defaultKeyName(): string {
  const host =
    hostname()
      .toLowerCase()
      .replace(/[^a-z0-9.-]/g, '-') || 'localhost';
  return `${host}/signledger`;
}

export function registerInit(program: Command): void {
  const cmd = program
    .command('init')
    .description(
      'create a ledger (SQLite ./signledger.db by default) and its log key; prints the verifier key',
    )
    .option(
      '--log-key-name <name>',
      'name of the log key = checkpoint origin, e.g. audit.example.com/payments',
    )
    .option('--hash-algorithm <alg>', 'entry hash: sha256, sha512, sha3-256, sha3-512', 'sha256')
    .action(
      action<{ logKeyName?: string; hashAlgorithm: string }>(async (ctx, _args, o) => {
        const name = o.logKeyName ?? defaultKeyName();
        if (!isValidKeyName(name))
          throw new CliError(`invalid --log-key-name ${JSON.stringify(name)}: no spaces or "+"`);
        let alg: HashAlgorithm;
        try {
          alg = assertHashAlgorithm(o.hashAlgorithm);
        } catch {
          throw new CliError(
            `unknown --hash-algorithm ${JSON.stringify(o.hashAlgorithm)} (sha256, sha512, sha3-256, sha3-512)`,
          );
        }
        const key = generateLogKey(name);
        if (ctx.sqlitePath !== null) await mkdir(dirname(ctx.sqlitePath), { recursive: true });
        await mkdir(dirname(ctx.keyFile), { recursive: true });
        // The secret first (refusing to overwrite one); removed again if the ledger cannot be created.
        await writeSecretFile(ctx.keyFile, `${key.signerKey}\n`);
        let meta: Awaited<ReturnType<import('../../ledger/ledger.js').Ledger['getMeta']>>;
        try {
          const { ledger, backend } = await ctx.open({
            readOnly: false,
            create: true,
            logKey: key,
            hashAlgorithm: alg,
          });
          try {
            meta = await ledger.getMeta();
            if (!backend.created)
              throw new CliError(
                `${ctx.label} already holds a ledger named "${ctx.ledgerName}": nothing to initialize`,
                'EXISTS',
              );
            // A checkpoint of the empty log pins this key to the ledger: `checkpoint` verifies the
            // previous note before signing, so another ledger's key (say the signledger.key beside a
            // shared database) is refused as a wrong key instead of signing the first checkpoint.
            await ledger.checkpoint();
          } finally {
            await ledger.close();
          }
          await writeFile(ctx.vkeyFile, `${key.verifierKey}\n`);
        } catch (err) {
          await unlink(ctx.keyFile).catch(() => {});
          throw err;
        }
        ctx.print(
          () =>
            [
              `created ledger "${meta.name}" (${meta.hashAlgorithm}) in ${ctx.label}`,
              `log key (secret, mode 0600): ${ctx.keyFile}`,
              `verifier key (give this to auditors; also in ${ctx.vkeyFile}):`,
              key.verifierKey,
            ].join('\n'),
          {
            db: ctx.label,
            ledger: meta.name,
            ledgerId: meta.ledgerId,
            hashAlgorithm: meta.hashAlgorithm,
            origin: key.name,
            verifierKey: key.verifierKey,
            keyFile: ctx.keyFile,
            vkeyFile: ctx.vkeyFile,
          },
        );
        return 0;
      }),
    );
  examples(cmd, [
    'signledger init --log-key-name audit.example.com/payments',
    'signledger init --db sqlite:./data/audit.db --key-file ./secrets/audit.key',
    'SIGNLEDGER_URL=postgres://localhost/audit signledger init',
  ]);
}
