/**
 * Server backend benchmarks (PostgreSQL and Redis): concurrent appends per second from 1 process
 * (64 concurrent callers) and from 4 processes (64 callers each), verification entries/s, and as the
 * baseline a raw multi-row INSERT (PostgreSQL) / raw pipeline (Redis) of the same rows in groups of
 * the same size. Median of >= 3 runs. Needs SIGNLEDGER_TEST_POSTGRES_URL / SIGNLEDGER_TEST_REDIS_URL
 * (rows for an unset server are left out). `bench/run.ts` calls `benchServers`.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PostgreSQLBackend } from '../src/backends/postgres/index.js';
import { RedisBackend } from '../src/backends/redis/index.js';
import { encodeEntry } from '../src/backends/redis/redis-backend.js';
import type { StoredEntry } from '../src/entry/types.js';
import { Ledger } from '../src/ledger/ledger.js';
import type { StorageBackend } from '../src/storage/backend.js';
import { events } from './lib/events.js';

export interface BenchRow {
  name: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  baseline?: { name: string; median: number };
  ratio?: number;
}

type Kind = 'postgres' | 'redis';
const CALLERS = 64;
const PROCS = 4;
const SELF = fileURLToPath(import.meta.url);

/**
 * `BENCH_PG_MODULE` (a path to another copy of postgres-backend.ts) swaps the PostgreSQL backend in
 * the child processes: before/after comparisons of a change in the same run (`--pg --compare`).
 */
async function pgBackendClass(): Promise<typeof PostgreSQLBackend> {
  const m = process.env.BENCH_PG_MODULE;
  return m
    ? ((await import(m)) as { PostgreSQLBackend: typeof PostgreSQLBackend }).PostgreSQLBackend
    : PostgreSQLBackend;
}

function makeBackend(
  kind: Kind,
  prefix: string,
  queryIndexes = true,
  Pg: typeof PostgreSQLBackend = PostgreSQLBackend,
): StorageBackend {
  return kind === 'postgres'
    ? new Pg({
        connectionString: process.env.SIGNLEDGER_TEST_POSTGRES_URL,
        tablePrefix: prefix,
        queryIndexes,
      })
    : new RedisBackend({ url: process.env.SIGNLEDGER_TEST_REDIS_URL, prefix });
}

function event(i: number, worker = 0): Record<string, unknown> {
  return { action: 'user_login', user_id: `user${i % 1000}`, ip_address: '192.168.1.1', worker, n: i };
}

async function appendConcurrently(ledger: Ledger, n: number, worker = 0): Promise<void> {
  let next = 0;
  const loop = async () => {
    while (next < n) await ledger.append(event(next++, worker));
  };
  await Promise.all(Array.from({ length: CALLERS }, loop));
}

function stats(name: string, unit: string, xs: number[]): BenchRow {
  const s = [...xs].sort((a, b) => a - b);
  return { name, unit, median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s[s.length - 1]! };
}

/** CPU µs of each of this process's threads (Linux /proc; empty elsewhere): tid -> [name, µs]. */
function threadCpu(): Map<string, [string, number]> {
  const out = new Map<string, [string, number]>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const f = stat.slice(close + 2).split(' ');
      out.set(tid, [stat.slice(stat.indexOf('(') + 1, close), (Number(f[11]) + Number(f[12])) * 1e4]);
    }
  } catch {
    // not Linux
  }
  return out;
}

/** Child mode: open, say "ready", wait for "go" on stdin, append, say "done". */
async function child(): Promise<void> {
  const kind = process.env.BENCH_KIND as Kind;
  const ledger = new Ledger({
    backend: makeBackend(
      kind,
      process.env.BENCH_PREFIX!,
      process.env.BENCH_QUERY_INDEXES !== '0',
      await pgBackendClass(),
    ),
    name: 'bench',
  });
  await ledger.open();
  // BENCH_WARMUP: appends before the timed phase (JIT warm-up; not part of the figures).
  const warm = Number(process.env.BENCH_WARMUP ?? 0);
  if (warm > 0) await appendConcurrently(ledger, warm, Number(process.env.BENCH_WORKER));
  process.stdout.write('ready\n');
  await new Promise<void>((r) => process.stdin.once('data', () => r()));
  // BENCH_CPU_PROF=DIR: a CPU profile of the append phase only (no startup), one file per child.
  const profDir = process.env.BENCH_CPU_PROF;
  const session = profDir ? new (await import('node:inspector')).Session() : null;
  const post = (m: string, p?: object) =>
    new Promise<unknown>((res, rej) => session!.post(m, p ?? {}, (e, r) => (e ? rej(e) : res(r))));
  if (session) {
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 200 });
    await post('Profiler.start');
  }
  const threads0 = threadCpu();
  const cpu0 = process.cpuUsage();
  await appendConcurrently(ledger, Number(process.env.BENCH_COUNT), Number(process.env.BENCH_WORKER));
  const cpu = process.cpuUsage(cpu0);
  if (process.env.BENCH_THREADS) {
    // CPU of each thread over the append phase, by thread name (main thread, V8 GC/JIT workers, libuv).
    const t1 = threadCpu();
    const by = new Map<string, number>();
    for (const [tid, [name, us]] of t1) by.set(`${name}/${tid}`, us - (threads0.get(tid)?.[1] ?? 0));
    process.stderr.write(`threads ${JSON.stringify(Object.fromEntries(by))}\n`);
  }
  if (session) {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      `${profDir}/child-${process.env.BENCH_WORKER}-${process.pid}.cpuprofile`,
      JSON.stringify(profile),
    );
    session.disconnect();
  }
  process.stdout.write(`cpu ${cpu.user + cpu.system}\nsys ${cpu.system}\ndone\n`);
  // Close (ending the server sessions) only after the parent has read the server's CPU time.
  await new Promise<void>((r) => {
    process.stdin.once('end', () => r());
    process.stdin.resume();
  });
  await ledger.close();
}

async function multiProcess(
  kind: Kind,
  prefix: string,
  perProc: number,
  queryIndexes = true,
  pgModule?: string,
  cpu?: { node: number; server: number; sys?: number },
  nProcs = PROCS,
): Promise<number> {
  // BENCH_CHILD_NODE_ARGS: extra node flags for the children (e.g. `--cpu-prof --cpu-prof-dir=DIR`).
  const extra = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const procs = Array.from({ length: nProcs }, (_, w) =>
    spawn(process.execPath, [...extra, '--import', 'tsx', SELF], {
      env: {
        ...process.env,
        BENCH_SERVERS_CHILD: '1',
        BENCH_KIND: kind,
        BENCH_PREFIX: prefix,
        BENCH_COUNT: String(perProc),
        BENCH_WORKER: String(w),
        BENCH_QUERY_INDEXES: queryIndexes ? '1' : '0',
        ...(pgModule ? { BENCH_PG_MODULE: pgModule } : {}),
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const waitFor = (p: (typeof procs)[number], word: string) =>
    new Promise<void>((resolve, reject) => {
      let out = '';
      p.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        if (!out.includes(`${word}\n`)) return;
        const m = /^cpu (\d+)$/m.exec(out);
        if (word === 'done' && m && cpu) {
          cpu.node += Number(m[1]);
          cpu.sys = (cpu.sys ?? 0) + Number(/^sys (\d+)$/m.exec(out)?.[1] ?? 0);
        }
        resolve();
      });
      p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench child exited with ${code}`))));
    });
  await Promise.all(procs.map((p) => waitFor(p, 'ready')));
  const done = Promise.all(procs.map((p) => waitFor(p, 'done')));
  const server0 = serverCpuUs();
  const t = performance.now();
  for (const p of procs) p.stdin!.write('go\n');
  await done;
  const s = (performance.now() - t) / 1000;
  if (cpu) cpu.server += serverCpuUs() - server0;
  for (const p of procs) p.stdin!.end();
  await Promise.all(procs.map((p) => (p.exitCode !== null ? null : new Promise((r) => p.once('exit', r)))));
  return (nProcs * perProc) / s;
}

/**
 * CPU time of every `postgres` process on this machine, µs (Linux /proc; NaN elsewhere). Includes
 * background workers and anyone else's queries on the same server: an upper bound for the bench.
 */
function serverCpuUs(): number {
  try {
    const tick = 1e6 / 100; // USER_HZ
    let total = 0;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const close = stat.lastIndexOf(')');
        if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
        const f = stat.slice(close + 2).split(' ');
        total += (Number(f[11]) + Number(f[12])) * tick;
      } catch {
        // exited meanwhile
      }
    }
    return total;
  } catch {
    return Number.NaN;
  }
}

async function rawBaseline(kind: Kind, rows: StoredEntry[], scratch: string): Promise<number> {
  const group = CALLERS;
  if (kind === 'postgres') {
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: process.env.SIGNLEDGER_TEST_POSTGRES_URL });
    await c.connect();
    try {
      await c.query(`DROP TABLE IF EXISTS ${scratch}`);
      await c.query(
        `CREATE TABLE ${scratch} (idx bigint PRIMARY KEY, id text, ts bigint, hash bytea, body text, data text, salt bytea, sigs text)`,
      );
      const t = performance.now();
      for (let i = 0; i < rows.length; i += group) {
        const g = rows.slice(i, i + group);
        const values: unknown[] = [];
        const tuples = g.map((r, j) => {
          values.push(r.index, r.id, r.timestampMs, r.hash, r.body, r.data, r.salt, r.signatures);
          const b = j * 8;
          return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}, $${b + 8})`;
        });
        await c.query(`INSERT INTO ${scratch} VALUES ${tuples.join(', ')}`, values);
      }
      const rate = rows.length / ((performance.now() - t) / 1000);
      await c.query(`DROP TABLE ${scratch}`);
      return rate;
    } finally {
      await c.end();
    }
  }
  const { Redis } = await import('ioredis');
  const c = new Redis(process.env.SIGNLEDGER_TEST_REDIS_URL!);
  try {
    const key = `${scratch}:raw`;
    await c.del(key, `${key}:d`);
    const t = performance.now();
    for (let i = 0; i < rows.length; i += group) {
      const p = c.pipeline();
      for (const r of rows.slice(i, i + group)) {
        const { entry, data } = encodeEntry(r);
        p.hset(key, String(r.index), entry);
        p.hset(`${key}:d`, String(r.index), data);
      }
      await p.exec();
    }
    const rate = rows.length / ((performance.now() - t) / 1000);
    await c.del(key, `${key}:d`);
    return rate;
  } finally {
    c.disconnect();
  }
}

async function cleanup(kind: Kind, prefix: string): Promise<void> {
  if (kind === 'postgres') {
    const { dropPgPrefix } = await import('../test/conformance/factories/postgres.js');
    await dropPgPrefix(prefix);
  } else {
    const { dropRedisPrefix } = await import('../test/conformance/factories/redis.js');
    await dropRedisPrefix(prefix);
  }
}

async function benchKind(kind: Kind, quick: boolean): Promise<BenchRow[]> {
  const runs = 3;
  const n = quick ? 5000 : 20000;
  const perProc = quick ? 2500 : 10000;
  const one: number[] = [];
  const four: number[] = [];
  const fourNoIndexes: number[] = [];
  const verify: number[] = [];
  const raw: number[] = [];
  const label = kind === 'postgres' ? 'PostgreSQL' : 'Redis';
  for (let r = 0; r < runs; r++) {
    const prefix = kind === 'postgres' ? `bench${process.pid}_${r}_` : `slbench:${process.pid}:${r}:`;
    await cleanup(kind, prefix);
    try {
      const ledger = new Ledger({ backend: makeBackend(kind, prefix), name: 'bench' });
      await ledger.open();
      let t = performance.now();
      await appendConcurrently(ledger, n);
      one.push(n / ((performance.now() - t) / 1000));
      t = performance.now();
      const report = await ledger.verify();
      if (!report.ok) throw new Error(`${label} bench ledger failed verification`);
      verify.push(report.entriesChecked / ((performance.now() - t) / 1000));
      const rows: StoredEntry[] = [];
      for await (const chunk of ledger.backend.scan()) rows.push(...chunk);
      raw.push(
        await rawBaseline(
          kind,
          rows,
          kind === 'postgres' ? `bench${process.pid}_raw` : `slbench:${process.pid}`,
        ),
      );
      await ledger.close();
      await cleanup(kind, prefix);
      four.push(await multiProcess(kind, prefix, perProc));
      if (kind === 'postgres') {
        await cleanup(kind, prefix);
        fourNoIndexes.push(await multiProcess(kind, prefix, perProc, false));
      }
    } finally {
      await cleanup(kind, prefix);
    }
  }
  const big = await verifyLarge(kind, quick ? 60_000 : 300_000, runs);
  const base = stats(
    `${label} raw ${kind === 'postgres' ? 'multi-row INSERT' : 'pipeline HSET'} (groups of ${CALLERS})`,
    'rows/s',
    raw,
  );
  const withBase = (row: BenchRow): BenchRow => ({
    ...row,
    baseline: { name: base.name, median: base.median },
    ratio: row.median / base.median,
  });
  return [
    withBase(stats(`${label} append, 1 process x ${CALLERS} callers`, 'appends/s', one)),
    withBase(stats(`${label} append, ${PROCS} processes x ${CALLERS} callers`, 'appends/s', four)),
    ...(fourNoIndexes.length
      ? [
          withBase(
            stats(
              `${label} append, ${PROCS} processes x ${CALLERS} callers, queryIndexes: false`,
              'appends/s',
              fourNoIndexes,
            ),
          ),
        ]
      : []),
    stats(`${label} verify (streamed from ${label})`, 'entries/s', verify),
    ...big,
    base,
  ];
}

/**
 * Verification of a larger ledger (written with appendBatch), after one warm-up pass: on the main
 * thread, and with the default (worker threads when the backend offers them: PostgreSQL), the
 * one-thread figure being the baseline of the same run.
 */
async function verifyLarge(kind: Kind, n: number, runs: number): Promise<BenchRow[]> {
  const label = kind === 'postgres' ? 'PostgreSQL' : 'Redis';
  const prefix = kind === 'postgres' ? `benchv${process.pid}_` : `slbenchv:${process.pid}:`;
  await cleanup(kind, prefix);
  const one: number[] = [];
  const dflt: number[] = [];
  let threads = 1;
  try {
    const ledger = new Ledger({ backend: makeBackend(kind, prefix), name: 'bench' });
    await ledger.open();
    for (let i = 0; i < n; i += 2000) await ledger.appendBatch(events(i, Math.min(2000, n - i)));
    if (kind === 'postgres') {
      // Measure the steady state of a table in service: a table just written has no hint bits or
      // visibility map yet, and autovacuum then processes it in the middle of the runs (measured:
      // the main-thread verify fell from ~160,000/s to ~34,000/s for every run while it did).
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: process.env.SIGNLEDGER_TEST_POSTGRES_URL });
      await c.connect();
      try {
        await c.query(`VACUUM (ANALYZE) ${prefix}entries, ${prefix}tiles, ${prefix}heads`);
      } finally {
        await c.end();
      }
    }
    await ledger.verify({ parallel: false }); // warm the server's cache
    for (let r = 0; r < runs; r++) {
      for (const parallel of [false, undefined] as const) {
        const t = performance.now();
        const report = await ledger.verify(parallel === false ? { parallel } : {});
        if (!report.ok) throw new Error(`${label} bench ledger failed verification`);
        const rate = report.entriesChecked / ((performance.now() - t) / 1000);
        if (parallel === false) one.push(rate);
        else {
          dflt.push(rate);
          threads = report.threads ?? 1;
        }
      }
    }
    await ledger.close();
  } finally {
    await cleanup(kind, prefix);
  }
  const k = `${n / 1000}k`;
  const base = stats(`${label} verify ${k} entries, main thread`, 'entries/s', one);
  const par = stats(
    `${label} verify ${k} entries, default (${threads} thread${threads > 1 ? 's' : ''})`,
    'entries/s',
    dflt,
  );
  return [
    base,
    { ...par, baseline: { name: base.name, median: base.median }, ratio: par.median / base.median },
  ];
}

export async function benchServers(opts: { quick: boolean }): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  if (process.env.SIGNLEDGER_TEST_POSTGRES_URL) rows.push(...(await benchKind('postgres', opts.quick)));
  if (process.env.SIGNLEDGER_TEST_REDIS_URL) rows.push(...(await benchKind('redis', opts.quick)));
  return rows;
}

/**
 * PostgreSQL only, 4 processes: `node --import tsx bench/servers.ts --pg [--runs 5] [--per-proc 10000]
 * [--no-indexes] [--compare path/to/postgres-backend.ts] [--procs 4] [--warmup 0]`.
 * `--warmup N`: each child appends N entries before the timed phase (V8 compiles the hot paths
 * during the first few thousand appends of a process: see docs/PERFORMANCE.md). Env for the
 * children: BENCH_CHILD_NODE_ARGS (extra node flags), BENCH_CPU_PROF=DIR (a CPU profile of the timed
 * phase per child), BENCH_THREADS=1 (CPU per thread of each child on stderr). Each run does the raw INSERT baseline and
 * the variants in alternating order (the machine is noisy: compare within a run).
 */
async function benchPg(argv: string[]): Promise<void> {
  const arg = (k: string) => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const runs = Number(arg('--runs') ?? 5);
  const perProc = Number(arg('--per-proc') ?? 10000);
  const compare = arg('--compare');
  const nProcs = Number(arg('--procs') ?? PROCS);
  if (arg('--warmup')) process.env.BENCH_WARMUP = arg('--warmup');
  const variants: { name: string; queryIndexes: boolean; module?: string }[] = [
    { name: 'default', queryIndexes: true },
    ...(compare ? [{ name: `compare`, queryIndexes: true, module: compare }] : []),
    ...(argv.includes('--no-indexes') ? [{ name: 'queryIndexes: false', queryIndexes: false }] : []),
  ];
  const res = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const raw: number[] = [];
  const prefix = `benchpg${process.pid}_`;
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) {
      await cleanup('postgres', prefix);
      const cpu = { node: 0, server: 0, sys: 0 };
      const rate = await multiProcess('postgres', prefix, perProc, v.queryIndexes, v.module, cpu, nProcs);
      res.get(v.name)!.push(rate);
      const n = nProcs * perProc;
      console.log(
        `run ${r} ${v.name}: ${Math.round(rate)}/s; CPU per append: node ${(cpu.node / n).toFixed(1)} µs (${(cpu.sys / n).toFixed(1)} system), postgres ${(cpu.server / n).toFixed(1)} µs`,
      );
      if (raw.length === r) {
        const ledger = new Ledger({ backend: makeBackend('postgres', prefix), name: 'bench' });
        await ledger.open();
        const rows: StoredEntry[] = [];
        for await (const chunk of ledger.backend.scan()) rows.push(...chunk);
        await ledger.close();
        raw.push(await rawBaseline('postgres', rows, `benchpg${process.pid}_raw`));
        console.log(`run ${r} raw: ${Math.round(raw[r]!)}/s`);
      }
    }
  }
  await cleanup('postgres', prefix);
  const base = stats('raw', 'rows/s', raw);
  for (const v of variants) {
    const s = stats(v.name, 'appends/s', res.get(v.name)!);
    const ratios = res.get(v.name)!.map((x, i) => (x / raw[i]!).toFixed(3));
    console.log(
      `${v.name}: median ${Math.round(s.median)} [${Math.round(s.min)}..${Math.round(s.max)}] ${(s.median / base.median).toFixed(3)}x raw; per-run ratios ${ratios.join(' ')}`,
    );
  }
  console.log(`raw: median ${Math.round(base.median)} [${Math.round(base.min)}..${Math.round(base.max)}]`);
}

if (process.env.BENCH_SERVERS_CHILD === '1' && process.argv[1] === SELF) {
  await child();
} else if (process.argv[1] === SELF && process.argv.includes('--pg')) {
  await benchPg(process.argv.slice(2));
} else if (process.argv[1] === SELF) {
  // Run directly: print the rows.
  for (const r of await benchServers({ quick: process.argv.includes('--quick') })) {
    const ratio = r.ratio === undefined ? '' : `  (${r.ratio.toFixed(2)}x ${r.baseline!.name})`;
    console.log(
      `${r.name}: ${Math.round(r.median)} ${r.unit} [${Math.round(r.min)}..${Math.round(r.max)}]${ratio}`,
    );
  }
}
