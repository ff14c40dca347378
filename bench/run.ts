/**
 * The benchmark suite: `npm run bench` (full, < 15 min on 2 cores) or `npm run bench -- --quick`;
 * `--only <name>` runs one section (appends, reads, storage, memory, servers, bundle).
 * Prints a table and writes bench/results/latest.json. Every figure is the median of repeated runs
 * with its min–max range; ratios compare against a baseline measured in the same run.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchAppends } from './lib/appends.js';
import { type Figure, normalize, table } from './lib/measure.js';
import { benchMemory } from './lib/memory.js';
import { benchReads } from './lib/reads.js';
import { benchStorage } from './lib/storage.js';

const SECTIONS = ['appends', 'reads', 'storage', 'memory', 'signatures', 'servers', 'bundle'] as const;
type Section = (typeof SECTIONS)[number];

function parseArgs(argv: string[]): { quick: boolean; only: Section | null } {
  let quick = false;
  let only: Section | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a.includes('=') ? a.slice(7) : argv[++i];
      if (!SECTIONS.includes(v as Section)) throw new Error(`--only takes one of ${SECTIONS.join(', ')}`);
      only = v as Section;
    } else throw new Error(`unknown flag ${a} (use --quick, --only <${SECTIONS.join('|')}>)`);
  }
  return { quick, only };
}

const here = dirname(fileURLToPath(import.meta.url));
const { quick, only } = parseArgs(process.argv.slice(2));
const want = (s: Section) => only === null || only === s;
const started = performance.now();
const log = (m: string) =>
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}\n`);
const figures: Figure[] = [];
const notes: string[] = [];

const runs = quick ? 3 : 5;
if (want('appends')) {
  figures.push(
    ...(await benchAppends(
      quick
        ? { runs, n: 20_000, seqMemory: 5_000, seqSqlite: 300 }
        : { runs, n: 100_000, seqMemory: 20_000, seqSqlite: 1_000 },
      log,
    )),
  );
}
if (want('reads')) {
  figures.push(
    ...(await benchReads(
      quick
        ? { runs, size: 100_000, lookups: 5_000, proofs: 2_000 }
        : { runs: 3, size: 1_000_000, lookups: 20_000, proofs: 10_000 },
      log,
    )),
  );
}
if (want('storage')) figures.push(...(await benchStorage(quick ? 5_000 : 50_000, log)));
if (want('memory')) {
  log('memory: child processes');
  figures.push(benchMemory(quick ? 20_000 : 100_000, runs));
}

/**
 * The server benchmarks need PostgreSQL and Redis: use the test servers when their URLs are set,
 * otherwise start the project's own on 127.0.0.1 (scripts/services.sh) for this run.
 */
async function startServicesIfNeeded(): Promise<void> {
  if (!want('servers') || process.env.SIGNLEDGER_TEST_POSTGRES_URL || process.env.SIGNLEDGER_NO_SERVICES)
    return;
  const { execFileSync } = await import('node:child_process');
  const { readFileSync } = await import('node:fs');
  try {
    execFileSync('bash', [join(here, '..', 'scripts', 'services.sh'), 'start'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    for (const line of readFileSync(join(here, '..', '.tmp', 'services.env'), 'utf8').split('\n')) {
      const m = /^export (\w+)=(.*)$/.exec(line);
      if (m) process.env[m[1]!] = m[2]!;
    }
  } catch (err) {
    notes.push(`servers: could not start PostgreSQL/Redis (${(err as Error).message})`);
  }
}

/** Sections written by others: run them when their module exists. */
async function optional(section: Section, file: string, fn: string, needsServer: boolean): Promise<void> {
  if (!want(section)) return;
  const path = join(here, file);
  if (!existsSync(path)) {
    notes.push(`${section}: skipped, bench/${file} is not there`);
    return;
  }
  if (
    needsServer &&
    !process.env.SIGNLEDGER_TEST_POSTGRES_URL &&
    !process.env.SIGNLEDGER_TEST_REDIS_URL &&
    !process.env.SIGNLEDGER_BENCH_SERVER_URL
  ) {
    notes.push(
      `${section}: skipped, no server URL set (SIGNLEDGER_TEST_POSTGRES_URL / SIGNLEDGER_TEST_REDIS_URL; source .tmp/services.env)`,
    );
    return;
  }
  log(`${section}: bench/${file}`);
  try {
    await runOptional(section, path, file, fn);
  } catch (err) {
    // One broken section must not lose the figures already measured.
    notes.push(`${section}: failed: ${(err as Error).message}`);
  }
}

async function runOptional(section: Section, path: string, file: string, fn: string): Promise<void> {
  const mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const run = mod[fn];
  if (typeof run !== 'function') {
    notes.push(`${section}: bench/${file} exports no ${fn}()`);
    return;
  }
  const r = (await run({ quick, runs, log })) as
    | Figure[]
    | { figures: Figure[]; notes?: string[] }
    | undefined;
  if (Array.isArray(r)) figures.push(...r);
  else if (r) {
    figures.push(...r.figures);
    notes.push(...(r.notes ?? []));
  }
}
await optional('signatures', 'signatures.ts', 'benchSignatures', false);
await startServicesIfNeeded();
await optional('servers', 'servers.ts', 'benchServers', true);
await optional('bundle', 'verify-bundle.ts', 'benchVerifyBundle', false);

const totalS = (performance.now() - started) / 1000;
console.log(table(figures));
for (const n of notes) console.log(`note: ${n}`);
console.log(
  `\n${quick ? 'quick' : 'full'} run, ${totalS.toFixed(0)} s, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
);
mkdirSync(join(here, 'results'), { recursive: true });
const out = {
  date: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
  only,
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? null,
  durationS: totalS,
  figures: figures.map(normalize),
  notes,
};
writeFileSync(
  join(here, 'results', only ? `latest-${only}.json` : 'latest.json'),
  `${JSON.stringify(out, null, 2)}\n`,
);
