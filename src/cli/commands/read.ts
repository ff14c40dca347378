/** tail, list, show, stats: read-only views of the log. */
import type { Command } from 'commander';
import { NotFoundError } from '../../errors.js';
import { action, examples, intOption, withLedger } from '../command.js';
import { CliError } from '../errors.js';
import { entryBlock, entryJson, entryLine, parseIdOrIndex } from '../output.js';

/** `data.user=alice` → ['data.user', 'alice']; the value is JSON when it parses as a scalar, else a string. */
function parseWhere(list: string[]): Record<string, string | number | boolean | null> {
  const where: Record<string, string | number | boolean | null> = {};
  for (const w of list) {
    const eq = w.indexOf('=');
    if (eq <= 0)
      throw new CliError(`--where ${JSON.stringify(w)}: expected path=value, e.g. data.user=alice`);
    const path = w.slice(0, eq);
    const raw = w.slice(eq + 1);
    let value: string | number | boolean | null = raw;
    try {
      const v = JSON.parse(raw) as unknown;
      if (v === null || ['string', 'number', 'boolean'].includes(typeof v))
        value = v as string | number | boolean | null;
    } catch {
      // a bare word: a string
    }
    where[path] = value;
  }
  return where;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerRead(program: Command): void {
  const tail = program
    .command('tail')
    .description('show the newest entries')
    .option('-n, --lines <n>', 'how many', '10')
    .action(
      action<{ lines: string }>(async (ctx, _args, o) => {
        const n = intOption(o.lines, '-n')!;
        const entries = await withLedger(ctx, { readOnly: true }, (l) => l.tail(n));
        ctx.print(() => entries.map(entryLine).join('\n'), entries.map(entryJson));
        return 0;
      }),
    );
  examples(tail, ['signledger tail -n 20', 'signledger tail --json | jq .[].data']);

  const list = program
    .command('list')
    .description('list entries, filtered by time and by equality on data/metadata fields')
    .option('--from <time>', 'entries at or after this time (ISO 8601)')
    .option('--to <time>', 'entries at or before this time (ISO 8601)')
    .option(
      '--where <path=value>',
      'data.* or metadata.* equals value (repeatable; value is JSON or a bare string)',
      collect,
      [],
    )
    .option('--limit <n>', 'at most n entries')
    .option('--offset <n>', 'skip the first n matches')
    .option('--desc', 'newest first')
    .action(
      action<{
        from?: string;
        to?: string;
        where: string[];
        limit?: string;
        offset?: string;
        desc?: boolean;
      }>(async (ctx, _args, o) => {
        const time = (s: string | undefined, name: string) => {
          if (s === undefined) return undefined;
          const ms = Date.parse(s);
          if (!Number.isFinite(ms))
            throw new CliError(`${name} ${JSON.stringify(s)} is not a date/time (ISO 8601)`);
          return ms;
        };
        const q = {
          where: parseWhere(o.where),
          from: time(o.from, '--from'),
          to: time(o.to, '--to'),
          limit: intOption(o.limit, '--limit'),
          offset: intOption(o.offset, '--offset'),
          order: o.desc ? ('desc' as const) : ('asc' as const),
        };
        const entries = await withLedger(ctx, { readOnly: true }, (l) => l.query(q));
        ctx.print(() => entries.map(entryLine).join('\n'), entries.map(entryJson));
        return 0;
      }),
    );
  examples(list, [
    'signledger list --where data.user=alice',
    'signledger list --from 2026-01-01 --to 2026-01-31T23:59:59Z --limit 100',
    'signledger list --where metadata.source=batch-7 --where data.amount=10 --json',
  ]);

  const show = program
    .command('show')
    .description('show one entry by id or index')
    .argument('<id|index>', 'entry id (UUID) or index (0-based)')
    .action(
      action(async (ctx, [key]) => {
        const k = parseIdOrIndex(key!);
        const entry = await withLedger(ctx, { readOnly: true }, (l) =>
          typeof k === 'number' ? l.getEntryAt(k) : l.getEntry(k),
        );
        if (!entry)
          throw new NotFoundError(`no entry ${typeof k === 'number' ? `at index ${k}` : `with id ${k}`}`);
        ctx.print(() => entryBlock(entry), entryJson(entry));
        return 0;
      }),
    );
  examples(show, ['signledger show 0', 'signledger show 0190a5c2-…', 'signledger show 41 --json']);

  const stats = program
    .command('stats')
    .description('size, times, bytes and algorithms of the log')
    .action(
      action(async (ctx) => {
        const s = await withLedger(ctx, { readOnly: true }, (l) => l.getStats());
        const json = {
          ...s,
          firstEntryTime: s.firstEntryTime?.toISOString() ?? null,
          lastEntryTime: s.lastEntryTime?.toISOString() ?? null,
        };
        ctx.print(
          () =>
            [
              `ledger:          ${s.name} (${s.ledgerId})`,
              `store:           ${s.backend} ${ctx.label}`,
              `entries:         ${s.totalEntries}`,
              `first entry:     ${json.firstEntryTime ?? '-'}`,
              `last entry:      ${json.lastEntryTime ?? '-'}`,
              `entry bytes:     ${s.totalSizeBytes}`,
              `tree bytes:      ${s.treeSizeBytes}`,
              `hash algorithm:  ${s.hashAlgorithm}`,
              `root:            ${s.rootHash}`,
              `last checkpoint: ${s.latestCheckpointSize ?? '(none)'}`,
              `format version:  ${s.formatVersion}`,
            ].join('\n'),
          json,
        );
        return 0;
      }),
    );
  examples(stats, ['signledger stats', 'signledger stats --json']);
}
