import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StoredEntry } from '../../entry/types.js';
import {
  AlreadyErasedError,
  CommitOutcomeUnknownError,
  ConfigurationError,
  ConflictError,
  type IntegrityFailure,
  StorageError,
  ValidationError,
} from '../../errors.js';
import { EMPTY_ROOT } from '../../merkle/hash.js';
import {
  rightEdgeTiles,
  strayTile,
  strayTileFailure,
  type Tile,
  type TileKey,
  tileKeyString,
} from '../../merkle/tiles.js';
import { redactUrl } from '../../redact-url.js';
import type {
  AppendBatch,
  AppendContext,
  Head,
  LedgerMeta,
  ParallelScanSpec,
  RangeQuery,
  StorageBackend,
  StorageStats,
  StoredCheckpoint,
} from '../../storage/backend.js';
import { CHECKPOINT_LUA, COMMIT_LUA, CREATE_LUA } from './commit-script.js';
import { loadIORedis, type RedisClient } from './driver.js';
import { assertKeyPrefix, checkpointKeys, commitKeys, type RedisKeys, redisKeys } from './keys.js';

/** Acknowledgements to wait for after each commit script, on the backend's own connection. */
export interface RedisDurabilityOptions {
  /**
   * Run `WAITAOF local replicas timeout` (Redis >= 7.2) after each commit: the append resolves only
   * once the commit is fsynced to the AOF of `local` (0 or 1) servers and `replicas` replicas.
   * `true` = `{ local: 1, replicas: 0, timeoutMs: 5000 }`. Needs `appendonly yes` when `local` is 1.
   */
  waitAof?: boolean | { local: number; replicas: number; timeoutMs: number };
  /** Run `WAIT n timeout` after each commit: the append resolves once `n` replicas acknowledged it. */
  waitReplicas?: { n: number; timeoutMs: number };
}

export interface RedisBackendOptions {
  host?: string;
  port?: number;
  password?: string;
  username?: string;
  db?: number;
  /** `redis://[:password@]host:6379/0` or `rediss://…` for TLS. */
  url?: string;
  /**
   * Bring your own ioredis client; the backend never closes it. Create it with
   * `autoResendUnfulfilledCommands: false` (the commit is idempotent either way, but a resent read
   * or WAIT after a reconnect proves nothing).
   */
  client?: RedisClient;
  /** Prefix of every key (default `signledger:`). */
  prefix?: string;
  /**
   * Give up on an append after this long losing compare-and-swap races (default 30 s); also how long a
   * commit whose connection dropped is re-sent before CommitOutcomeUnknownError.
   */
  maxRetryMs?: number;
  /**
   * Wait for AOF fsync and/or replicas after every commit (docs/BACKENDS.md, "Durability"). Without
   * it an append resolves once Redis applied it in memory.
   */
  durability?: RedisDurabilityOptions;
  /**
   * Called (once per backend) with configuration warnings found at open, e.g. `appendonly no`.
   * Default: `console.warn`, once per process and server.
   */
  onWarning?: (message: string) => void;
}

/** Entry row halves as stored: the committed part never changes, the data part is deleted on redaction. */
type EntryJson = [string, number, string, string, string | null];
type DataJson = [string | null, string | null];

/** A row as stored under `entries`/`data` (the inverse of encodeEntry). */
export function decodeEntry(index: number, e: string, d: string | null): StoredEntry {
  const row = parseOr<EntryJson>(e, 5);
  // A row that is not what the writer stores (edited with redis-cli): verify() reports it at its
  // index (its body does not hash to its hash) instead of throwing a SyntaxError.
  if (row === null)
    return {
      index,
      id: '',
      timestampMs: Number.NaN,
      hash: Buffer.alloc(0),
      body: e,
      data: null,
      salt: null,
      signatures: null,
    };
  const [id, ts, hash, body, sigs] = row;
  const half = d === null ? ([null, null] as DataJson) : parseOr<DataJson>(d, 2);
  // Unreadable data: kept as text with no salt, which verify() reports as data_mismatch.
  const [data, salt] = half ?? [d, null];
  return {
    index,
    id,
    timestampMs: ts,
    hash: Buffer.from(hash, 'hex'),
    body,
    data,
    salt: salt === null ? null : Buffer.from(salt, 'hex'),
    signatures: sigs,
  };
}

/** JSON text of an array of `n` members, or null. */
function parseOr<T extends unknown[]>(text: string, n: number): T | null {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) && v.length === n ? (v as T) : null;
  } catch {
    return null;
  }
}

export function encodeEntry(e: StoredEntry): { entry: string; data: string } {
  const entry = JSON.stringify([
    e.id,
    e.timestampMs,
    e.hash.toString('hex'),
    e.body,
    e.signatures,
  ] satisfies EntryJson);
  const data =
    e.data === null && e.salt === null
      ? ''
      : JSON.stringify([e.data, e.salt === null ? null : e.salt.toString('hex')] satisfies DataJson);
  return { entry, data };
}

export function encodeTile(t: Tile): Buffer {
  const w = Buffer.alloc(2);
  w.writeUInt16BE(t.width);
  return Buffer.concat([w, t.hashes]);
}

function decodeTile(k: TileKey, b: Buffer): Tile {
  return { level: k.level, index: k.index, width: b.readUInt16BE(0), hashes: Buffer.from(b.subarray(2)) };
}

/** The connection closed while a command was in flight: with resending off, its reply never comes. */
class ConnectionLostError extends Error {
  constructor() {
    super('the Redis connection closed while the command was in flight');
    this.name = 'ConnectionLostError';
  }
}

/** Redis received the command and answered with an error (as opposed to a lost connection). */
function isReplyError(err: unknown): boolean {
  for (let p = err instanceof Error ? Object.getPrototypeOf(err) : null; p; p = Object.getPrototypeOf(p)) {
    if ((p as { constructor?: { name?: string } }).constructor?.name === 'ReplyError') return true;
  }
  return false;
}

type PipelineResult = [Error | null, unknown][] | null;

/** The values of a pipeline or MULTI, throwing the first command error. */
function values(res: PipelineResult): unknown[] {
  if (!res) throw new Error('the transaction was discarded');
  return res.map(([err, v]) => {
    if (err) throw err;
    return v;
  });
}

interface WaitAof {
  local: number;
  replicas: number;
  timeoutMs: number;
}
interface WaitReplicas {
  n: number;
  timeoutMs: number;
}

function durabilityOf(d: RedisDurabilityOptions | undefined): {
  aof: WaitAof | null;
  replicas: WaitReplicas | null;
} {
  if (d === undefined) return { aof: null, replicas: null };
  if (d === null || typeof d !== 'object') throw new ConfigurationError('durability must be an object');
  const count = (v: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max)
      throw new ConfigurationError(`durability.${path} must be an integer from ${min} to ${max}`);
    return v as number;
  };
  let aof: WaitAof | null = null;
  if (d.waitAof === true) aof = { local: 1, replicas: 0, timeoutMs: 5000 };
  else if (d.waitAof !== undefined && d.waitAof !== false) {
    const w = d.waitAof;
    if (w === null || typeof w !== 'object')
      throw new ConfigurationError('durability.waitAof must be a boolean or { local, replicas, timeoutMs }');
    aof = {
      local: count(w.local, 'waitAof.local', 0, 1),
      replicas: count(w.replicas, 'waitAof.replicas', 0),
      timeoutMs: count(w.timeoutMs, 'waitAof.timeoutMs', 1),
    };
    if (aof.local === 0 && aof.replicas === 0)
      throw new ConfigurationError('durability.waitAof waits for nothing: set local and/or replicas');
  }
  let replicas: WaitReplicas | null = null;
  if (d.waitReplicas !== undefined) {
    const w = d.waitReplicas;
    if (w === null || typeof w !== 'object')
      throw new ConfigurationError('durability.waitReplicas must be { n, timeoutMs }');
    replicas = {
      n: count(w.n, 'waitReplicas.n', 1),
      timeoutMs: count(w.timeoutMs, 'waitReplicas.timeoutMs', 1),
    };
  }
  return { aof, replicas };
}

function checkRange(q: RangeQuery): void {
  if (q === null || typeof q !== 'object') throw new ValidationError('a range query must be an object');
  for (const name of ['offset', 'limit'] as const) {
    const v = q[name];
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0))
      throw new ValidationError(`${name} must be a non-negative integer`, { path: `/${name}` });
  }
  for (const name of ['fromIndex', 'toIndex'] as const) {
    const v = q[name];
    if (v !== undefined && !Number.isSafeInteger(v))
      throw new ValidationError(`${name} must be an integer`, { path: `/${name}` });
  }
  for (const name of ['startMs', 'endMs'] as const) {
    const v = q[name];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v)))
      throw new ValidationError(`${name} must be a finite number of milliseconds`, { path: `/${name}` });
  }
}

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map((x) => Number.parseInt(x, 10) || 0);
  return a > major || (a === major && b >= minor);
}

/** Servers warned about through console.warn in this process (the default onWarning). */
const warnedServers = new Set<string>();

const COMMIT_SHA = createHash('sha1').update(COMMIT_LUA).digest('hex');
const CHECKPOINT_SHA = createHash('sha1').update(CHECKPOINT_LUA).digest('hex');

/**
 * Redis through ioredis. Entries, tiles and the head live in hashes under one hash tag per ledger;
 * every append commits through one Lua script that compares the head and writes everything
 * atomically, so many processes can append and the loser of a race rebuilds on the new head. The
 * script is idempotent (a commit whose reply was lost answers "already stored" when sent again), and
 * it checks every failure condition before its first write. Durability is Redis's configuration plus
 * the optional `durability` waits (docs/BACKENDS.md).
 */
export class RedisBackend implements StorageBackend {
  readonly kind = 'redis';
  private readonly options: RedisBackendOptions;
  private readonly prefix: string;
  private readonly durability: { aof: WaitAof | null; replicas: WaitReplicas | null };
  private client: RedisClient | null = null;
  private ownsClient = false;
  private k: RedisKeys | null = null;
  private openedName: string | null = null;
  private closed = false;
  private warned = false;
  /** Rejecters of commands in flight, failed when the connection closes (see guard). */
  private readonly inFlight = new Set<(err: Error) => void>();
  private readonly onClientClose = (): void => {
    const waiting = [...this.inFlight];
    this.inFlight.clear();
    for (const fail of waiting) fail(new ConnectionLostError());
  };

  constructor(options: RedisBackendOptions = {}) {
    if (options === null || typeof options !== 'object')
      throw new ConfigurationError('RedisBackend takes an options object');
    this.options = { ...options };
    this.prefix = assertKeyPrefix(options.prefix ?? 'signledger:');
    this.durability = durabilityOf(options.durability);
    if (options.onWarning !== undefined && typeof options.onWarning !== 'function')
      throw new ConfigurationError('onWarning must be a function');
  }

  async open(name: string, create: () => LedgerMeta): Promise<LedgerMeta> {
    if (this.closed) throw new StorageError('the Redis backend is closed', { code: 'STORAGE_CLOSED' });
    const k = redisKeys(this.prefix, name);
    if (!this.client) {
      if (this.options.client) {
        this.client = this.options.client;
      } else {
        const Redis = await loadIORedis();
        const o = this.options;
        const base = {
          ...(o.password !== undefined ? { password: o.password } : {}),
          ...(o.username !== undefined ? { username: o.username } : {}),
          ...(o.db !== undefined ? { db: o.db } : {}),
          lazyConnect: true,
          // A command resent after a reconnect would run twice; the commit is idempotent, but the
          // backend re-sends it itself and must know that the first reply was lost.
          autoResendUnfulfilledCommands: false,
        };
        let client: RedisClient;
        try {
          client = o.url
            ? new Redis(o.url, base)
            : new Redis({ host: o.host ?? '127.0.0.1', port: o.port ?? 6379, ...base });
        } catch {
          // No cause: the driver's TypeError carries the whole URL, password included.
          throw new ConfigurationError(`malformed Redis URL ${JSON.stringify(redactUrl(o.url ?? ''))}`);
        }
        client.on('error', () => {});
        this.client = client;
        this.ownsClient = true;
        try {
          await client.connect();
        } catch (err) {
          throw new StorageError(`cannot connect to Redis: ${(err as Error).message}`, { cause: err });
        }
      }
      this.client.on('close', this.onClientClose);
    }
    const client = this.client;
    try {
      await this.checkServer(client);
      const existing = (await this.guard(client.get(k.meta))) as string | null;
      const text =
        existing ??
        ((await this.evalScript(
          client,
          CREATE_LUA,
          null,
          [k.meta, k.head],
          [JSON.stringify(create()), EMPTY_ROOT],
        )) as string);
      this.k = k;
      this.openedName = name;
      return JSON.parse(text) as LedgerMeta;
    } catch (err) {
      if (err instanceof StorageError) throw err;
      if (this.closed)
        throw new StorageError('the Redis backend was closed while opening', {
          code: 'STORAGE_CLOSED',
          cause: err,
        });
      throw new StorageError(`cannot open Redis ledger ${JSON.stringify(name)}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /**
   * Read the persistence settings when CONFIG is allowed (ACLs and managed services often deny it:
   * then nothing is checked), warn when AOF is off, and refuse a `waitAof` the server cannot honour.
   */
  private async checkServer(c: RedisClient): Promise<void> {
    let appendonly: string | undefined;
    let appendfsync: string | undefined;
    try {
      const r = (await this.guard(c.call('CONFIG', 'GET', 'append*'))) as string[];
      for (let i = 0; i + 1 < r.length; i += 2) {
        if (r[i] === 'appendonly') appendonly = String(r[i + 1]);
        if (r[i] === 'appendfsync') appendfsync = String(r[i + 1]);
      }
    } catch {
      // CONFIG denied or renamed: the settings cannot be checked from here.
    }
    if (appendonly === 'no') {
      this.warn(
        c,
        'signledger: Redis has appendonly no: an acknowledged append lives in memory until the next RDB snapshot and is lost if Redis stops; use appendonly yes with appendfsync always for an audit log (docs/BACKENDS.md)',
      );
    }
    const aof = this.durability.aof;
    if (!aof) return;
    let version: string | undefined;
    try {
      const info = String(await this.guard(c.info('server')));
      version = /^redis_version:(\S+)/m.exec(info)?.[1];
    } catch {
      // INFO denied: WAITAOF itself will tell.
    }
    if (version !== undefined && !versionAtLeast(version, 7, 2)) {
      throw new StorageError(
        `durability.waitAof needs WAITAOF (Redis 7.2 or later); the server is ${version}`,
        {
          code: 'STORAGE_INCOMPATIBLE',
          details: { version, appendfsync: appendfsync ?? null },
        },
      );
    }
    if (aof.local > 0 && appendonly === 'no') {
      throw new StorageError('durability.waitAof with local: 1 needs appendonly yes on the Redis server', {
        code: 'STORAGE_INCOMPATIBLE',
      });
    }
  }

  private warn(c: RedisClient, message: string): void {
    if (this.warned) return;
    this.warned = true;
    if (this.options.onWarning) {
      this.options.onWarning(message);
      return;
    }
    const o = (c as { options?: { host?: string; port?: number; path?: string } }).options ?? {};
    const server = o.path ?? `${o.host}:${o.port}`;
    if (warnedServers.has(server)) return;
    warnedServers.add(server);
    console.warn(message);
  }

  private get c(): RedisClient {
    if (!this.client || !this.k || this.closed)
      throw new StorageError('the Redis backend is not open', { code: 'STORAGE_CLOSED' });
    return this.client;
  }

  /** The ledger's keys (after open); tests tamper through them. */
  get keys(): RedisKeys {
    this.c;
    return this.k!;
  }

  /** The ioredis client in use. */
  get connection(): RedisClient {
    return this.c;
  }

  /**
   * With `autoResendUnfulfilledCommands: false`, ioredis drops the commands in flight when the
   * connection closes without ever settling their promises: fail them when the connection closes.
   */
  private guard<T>(p: Promise<T>): Promise<T> {
    const c = this.client as { options?: { autoResendUnfulfilledCommands?: boolean } } | null;
    if (c?.options?.autoResendUnfulfilledCommands !== false) return p;
    return new Promise<T>((resolve, reject) => {
      const fail = (err: Error) => reject(err);
      this.inFlight.add(fail);
      p.then(
        (v) => {
          this.inFlight.delete(fail);
          resolve(v);
        },
        (err: unknown) => {
          this.inFlight.delete(fail);
          reject(err);
        },
      );
    });
  }

  private wrap(what: string, err: unknown): StorageError {
    if (err instanceof StorageError) return err;
    if (this.closed)
      return new StorageError(`the Redis backend was closed during ${what}`, {
        code: 'STORAGE_CLOSED',
        cause: err,
      });
    return new StorageError(`Redis ${what} failed: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
    });
  }

  /** Every client call goes through here: STORAGE_CLOSED after close, otherwise STORAGE_FAILED with the cause. */
  private async run<T>(what: string, fn: (c: RedisClient, k: RedisKeys) => Promise<T>): Promise<T> {
    const c = this.c;
    try {
      return await this.guard(fn(c, this.k!));
    } catch (err) {
      throw this.wrap(what, err);
    }
  }

  /** Which of `indexes` another writer erased first (erased data stays erased: exact after the fact). */
  private async alreadyErased(indexes: readonly number[]): Promise<Error> {
    const unique = [...new Set(indexes)];
    const present = await this.run('erase check', (c, k) =>
      Promise.all(unique.map((i) => c.hexists(k.data, String(i)))),
    );
    const erased = unique.filter((_, j) => present[j] === 0);
    return erased.length ? new AlreadyErasedError(erased) : new StorageError('cannot erase a missing entry');
  }

  /** EVALSHA, falling back to EVAL when the server does not have the script cached. */
  private async evalScript(
    c: RedisClient,
    lua: string,
    sha: string | null,
    keys: string[],
    args: (string | Buffer | number)[],
  ): Promise<unknown> {
    if (sha !== null) {
      try {
        return await this.guard(c.evalsha(sha, keys.length, ...keys, ...args));
      } catch (err) {
        if (!String((err as Error)?.message).includes('NOSCRIPT')) throw err;
      }
    }
    return this.guard(c.eval(lua, keys.length, ...keys, ...args));
  }

  /** The head and its right-edge tiles as one consistent snapshot (tiles read in MULTI with the head). */
  private async headAndTiles(): Promise<{ head: Head; edgeTiles: Tile[] }> {
    let head = await this.readHead();
    for (;;) {
      const keys = rightEdgeTiles(head.size);
      const res = await this.run('read', (c, k) => {
        const tx = c.multi();
        if (keys.length) tx.hmgetBuffer(k.tiles, ...keys.map(tileKeyString));
        tx.hgetallBuffer(k.head);
        return tx.exec().then(values);
      });
      const now = RedisBackend.parseHead(res[res.length - 1] as Record<string, Buffer>);
      if (now.size !== head.size || now.lastHash !== head.lastHash) {
        head = now;
        continue;
      }
      const blobs = keys.length ? (res[0] as (Buffer | null)[]) : [];
      const edgeTiles: Tile[] = [];
      keys.forEach((key, i) => {
        const b = blobs[i];
        if (b) edgeTiles.push(decodeTile(key, b));
      });
      if (edgeTiles.length !== keys.length)
        throw new StorageError('right-edge tiles are missing: the store is corrupt');
      return { head: now, edgeTiles };
    }
  }

  async append(build: (ctx: AppendContext) => AppendBatch | Promise<AppendBatch>): Promise<AppendBatch> {
    const started = Date.now();
    const limit = this.options.maxRetryMs ?? 30_000;
    for (let attempt = 0; ; attempt++) {
      const { head, edgeTiles } = await this.headAndTiles();
      const batch = await build({ head, edgeTiles });
      const r = await this.commit(head, batch, limit);
      // 2: this batch was already stored by an earlier send whose reply was lost.
      if (r === 1 || r === 2) return batch;
      if (r === -1) throw new StorageError('cannot erase a missing entry');
      if (r === -3) throw await this.alreadyErased(batch.erase);
      if (r === -2) throw new StorageError('the head is missing: the store is corrupt');
      if (r !== 0) throw new StorageError(`unexpected reply ${r} from the Redis commit script`);
      if (Date.now() - started > limit)
        throw new ConflictError(`gave up after ${attempt + 1} lost compare-and-swap races`);
      // Another writer won: back off a random moment so that contenders spread out, then rebuild.
      await sleep(Math.random() * Math.min(20, 2 ** Math.min(attempt, 5)));
    }
  }

  /**
   * Send the commit script (and the durability waits) until Redis answers. When the connection fails
   * with the commit in flight, the commit may or may not have run: send it again — the script
   * answers 2 when the first send applied it — for up to `limit` ms, then CommitOutcomeUnknownError.
   */
  private async commit(head: Head, batch: AppendBatch, limit: number): Promise<number> {
    const args: (string | Buffer | number)[] = [
      String(head.size),
      head.lastHash ?? '',
      String(batch.head.size),
      batch.head.lastHash ?? '',
      batch.head.frontier,
      batch.head.rootHash,
      batch.entries.length,
    ];
    batch.entries.forEach((e, i) => {
      if (e.index !== head.size + i)
        throw new StorageError(`entry index ${e.index} is not contiguous with head ${head.size}`);
      const { entry, data } = encodeEntry(e);
      args.push(String(e.index), e.id, String(e.timestampMs), entry, data);
    });
    args.push(batch.tiles.length);
    for (const t of batch.tiles) args.push(tileKeyString(t), encodeTile(t));
    const erase = [...new Set(batch.erase)];
    args.push(erase.length, ...erase.map(String));
    const keys = commitKeys(this.k!);
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      const c = this.c;
      try {
        return await this.commitOnce(c, keys, args);
      } catch (err) {
        if (err instanceof StorageError) throw err;
        if (isReplyError(err))
          throw new StorageError(`Redis commit failed: ${(err as Error).message}`, { cause: err });
        if (this.closed || Date.now() - started > limit) throw this.unknownOutcome(limit, err);
      }
      await sleep(Math.min(500, 20 * 2 ** Math.min(attempt, 5)));
      if (this.closed) throw this.unknownOutcome(limit, null);
    }
  }

  private unknownOutcome(limit: number, cause: unknown): CommitOutcomeUnknownError {
    const why = this.closed ? 'the backend was closed' : `Redis was not reachable again within ${limit} ms`;
    return new CommitOutcomeUnknownError(
      `the Redis connection failed while a commit was in flight and ${why}: the entries may or may not be stored; read the log before retrying`,
      cause === null ? {} : { cause },
    );
  }

  private async commitOnce(
    c: RedisClient,
    keys: string[],
    args: (string | Buffer | number)[],
  ): Promise<number> {
    const { aof, replicas } = this.durability;
    for (const viaSha of [true, false]) {
      // One pipeline: the waits go out on the same connection right behind the script, so they
      // cover its writes (a WAIT on a fresh connection would cover nothing).
      const p = c.pipeline();
      if (viaSha) p.evalsha(COMMIT_SHA, keys.length, ...keys, ...args);
      else p.eval(COMMIT_LUA, keys.length, ...keys, ...args);
      if (aof) p.call('WAITAOF', aof.local, aof.replicas, aof.timeoutMs);
      if (replicas) p.wait(replicas.n, replicas.timeoutMs);
      const res = (await this.guard(p.exec())) as PipelineResult;
      if (!res) throw new Error('the commit pipeline was discarded');
      const [err, reply] = res[0]!;
      if (err) {
        if (viaSha && String(err.message).includes('NOSCRIPT')) continue;
        throw err;
      }
      const r = Number(reply);
      if (r === 1 || r === 2) this.checkAcks(res.slice(1));
      return r;
    }
    throw new Error('unreachable');
  }

  /** The commit ran: throw CommitOutcomeUnknownError when a durability wait was not satisfied. */
  private checkAcks(res: [Error | null, unknown][]): void {
    const { aof, replicas } = this.durability;
    const problems: string[] = [];
    const details: Record<string, unknown> = { stored: true };
    let i = 0;
    if (aof) {
      const [err, v] = res[i++]!;
      if (err) problems.push(`WAITAOF failed: ${err.message}`);
      else {
        const [local, reps] = (v as number[]).map(Number) as [number, number];
        details.waitAof = { local, replicas: reps };
        if (local < aof.local || reps < aof.replicas)
          problems.push(
            `WAITAOF confirmed ${local} of ${aof.local} local AOF fsync and ${reps} of ${aof.replicas} replicas within ${aof.timeoutMs} ms`,
          );
      }
    }
    if (replicas) {
      const [err, v] = res[i++]!;
      if (err) problems.push(`WAIT failed: ${err.message}`);
      else {
        details.waitReplicas = Number(v);
        if (Number(v) < replicas.n)
          problems.push(
            `WAIT confirmed ${Number(v)} of ${replicas.n} replicas within ${replicas.timeoutMs} ms`,
          );
      }
    }
    if (problems.length === 0) return;
    throw new CommitOutcomeUnknownError(
      `stored but not confirmed: Redis applied the commit, but its durability was not confirmed (${problems.join('; ')}); the entries are in the log and may be lost if the server fails before it persists or replicates them`,
      { details },
    );
  }

  private static parseHead(h: Record<string, Buffer>): Head {
    if (!h.size) throw new StorageError('the head is missing: the store is corrupt');
    return {
      size: Number(h.size.toString()),
      lastHash: h.last && h.last.length > 0 ? h.last.toString() : null,
      frontier: h.frontier ?? Buffer.alloc(0),
      rootHash: h.root ?? Buffer.alloc(0),
    };
  }

  async readHead(): Promise<Head> {
    return RedisBackend.parseHead(await this.run('read', (c, k) => c.hgetallBuffer(k.head)));
  }

  /**
   * Rows and index entries the log does not account for. verify() calls this after the entries
   * verified through `scan`, which presents each row's id and time as the id and time indexes hold
   * them (see indexedView): so every row below the head is present and findable by its own id and
   * time. What is left: a count above the head means rows or index entries past it (reads skip
   * them; only tampering leaves one), and an index with fewer entries than the head would have been
   * caught row by row already.
   */
  /**
   * How verification workers open their own client (parallel verification of large ledgers): the
   * same connection settings. None for a client handed in (its settings are not known).
   */
  parallelScanSpec(): ParallelScanSpec | null {
    const o = this.options;
    if (o.client || this.openedName === null || this.closed) return null;
    const connection: Extract<ParallelScanSpec, { kind: 'redis' }>['connection'] = {};
    if (o.url !== undefined) connection.url = o.url;
    if (o.host !== undefined) connection.host = o.host;
    if (o.port !== undefined) connection.port = o.port;
    if (o.username !== undefined) connection.username = o.username;
    if (o.password !== undefined) connection.password = o.password;
    if (o.db !== undefined) connection.db = o.db;
    return { kind: 'redis', connection, prefix: this.prefix, name: this.openedName };
  }

  async auditStore(): Promise<IntegrityFailure | null> {
    const [size, entries, ids, times] = (await this.run('read', (c, k) =>
      c.pipeline().hget(k.head, 'size').hlen(k.entries).hlen(k.ids).zcard(k.times).exec().then(values),
    )) as [string | null, number, number, number];
    if (size === null) throw new StorageError('the head is missing: the store is corrupt');
    const n = Number(size);
    // Tiles where the tree has none (verify() compares the tiles that should exist). Read after the
    // head: a tile written since belongs to a later head, so read the head again for those.
    const fields = await this.run('tile keys read', (c, k) => c.hkeys(k.tiles));
    const keys = fields.map((f) => {
      const m = /^(\d+)\/(\d+)$/.exec(f);
      return m ? { level: Number(m[1]), index: Number(m[2]) } : { level: -1, index: -1 };
    });
    if (strayTile(keys, n)) {
      const now = Number((await this.readHead()).size);
      const stray = strayTile(keys, now);
      if (stray) return strayTileFailure(stray, now);
    }
    const extra = Math.max(entries, ids, times) - n;
    if (extra <= 0) return null;
    return {
      kind: 'head_mismatch',
      index: n,
      message: `${extra} entr${extra === 1 ? 'y is' : 'ies are'} stored past the head (size ${n}): not part of the log`,
    };
  }

  /**
   * Rows as the read indexes see them, for `scan({ audit })` (what verify() reads): a row's `timestampMs` is
   * its score in the time index and its `id` is kept only if the id index maps it back to this row.
   * Both indexes decide what time-range reads and getEntry(id) return, and nothing hashes them, so
   * an index edited behind the library's back (a moved score, a deleted or redirected member) shows
   * as the row's id or time column disagreeing with its commitment: verify() reports
   * `column_mismatch` at that row instead of passing while reads hide or misplace the entry.
   */
  private async indexedView(rows: StoredEntry[]): Promise<StoredEntry[]> {
    if (rows.length === 0) return rows;
    const fields = rows.map((r) => String(r.index));
    const [scores, owners] = (await this.run('index read', (c, k) =>
      c
        .pipeline()
        .zmscore(k.times, ...fields)
        .hmget(k.ids, ...rows.map((r) => r.id))
        .exec()
        .then(values),
    )) as [(string | null)[], (string | null)[]];
    return rows.map((r, i) => {
      const score = scores[i];
      const ts = score === null || score === undefined ? Number.NaN : Number(score);
      const ownId = owners[i] === fields[i];
      if (ts === r.timestampMs && ownId) return r;
      // Marked so the commitment check fails: NaN is no time (the index and the row's own time
      // disagree: either may be the edited one), and an id no UUID can equal.
      return { ...r, timestampMs: Number.NaN, id: ownId ? r.id : `${r.id} (not in the id index)` };
    });
  }

  async readTiles(keys: readonly TileKey[]): Promise<Tile[]> {
    if (keys.length === 0) return [];
    const r = await this.run('tile read', (c, k) => c.hmgetBuffer(k.tiles, ...keys.map(tileKeyString)));
    const out: Tile[] = [];
    keys.forEach((k, i) => {
      const b = r[i];
      if (b) out.push(decodeTile(k, b));
    });
    return out;
  }

  /**
   * Rows at the given indexes (missing ones skipped), in the given order. Rows at or past the head's
   * size are not entries (nothing but tampering or a foreign write puts them there) and are skipped.
   */
  private async fetch(indexes: readonly number[]): Promise<StoredEntry[]> {
    if (indexes.length === 0) return [];
    const fields = indexes.map(String);
    const [size, es, ds] = (await this.run('read', (c, k) =>
      c
        .pipeline()
        .hget(k.head, 'size')
        .hmget(k.entries, ...fields)
        .hmget(k.data, ...fields)
        .exec()
        .then(values),
    )) as [string | null, (string | null)[], (string | null)[]];
    if (size === null) throw new StorageError('the head is missing: the store is corrupt');
    const cap = Number(size);
    const out: StoredEntry[] = [];
    indexes.forEach((idx, i) => {
      const e = es[i];
      if (e && idx < cap) out.push(decodeEntry(idx, e, ds[i] ?? null));
    });
    return out;
  }

  async getByIndex(index: number): Promise<StoredEntry | null> {
    if (!Number.isSafeInteger(index) || index < 0) return null;
    return (await this.fetch([index]))[0] ?? null;
  }

  async getById(id: string): Promise<StoredEntry | null> {
    if (typeof id !== 'string') return null;
    const idx = await this.run('read', (c, k) => c.hget(k.ids, id));
    if (idx === null || !/^\d+$/.test(idx)) return null;
    const row = (await this.fetch([Number(idx)]))[0];
    return row && row.id === id ? row : null;
  }

  /**
   * A time-filtered range reads the matching indexes from the sorted set (one ZRANGEBYSCORE, O(matches)
   * small strings: timestamps are not ordered by index, so the set cannot be paged in index order),
   * sorts them and fetches only the rows of the requested page.
   */
  async getRange(q: RangeQuery): Promise<StoredEntry[]> {
    checkRange(q);
    const size = (await this.readHead()).size;
    const from = Math.max(0, q.fromIndex ?? 0);
    const to = Math.min(size, q.toIndex ?? size);
    const offset = q.offset ?? 0;
    const limit = q.limit ?? Number.POSITIVE_INFINITY;
    const desc = q.order === 'desc';
    if (limit <= 0 || to <= from) return [];
    let indexes: number[];
    if (q.startMs !== undefined || q.endMs !== undefined) {
      if (q.startMs !== undefined && q.endMs !== undefined && q.endMs < q.startMs) return [];
      const lo = q.startMs === undefined ? '-inf' : String(q.startMs);
      const hi = q.endMs === undefined ? '+inf' : String(q.endMs);
      const members = await this.run('time range read', async (c, k) => {
        // Cheap first: skip the big read when the page starts past the matches.
        if ((await c.zcount(k.times, lo, hi)) <= offset) return [];
        return c.zrangebyscore(k.times, lo, hi);
      });
      indexes = members
        .map(Number)
        .filter((i) => i >= from && i < to)
        .sort((a, b) => (desc ? b - a : a - b));
      indexes = indexes.slice(offset, offset + Math.min(limit, indexes.length));
    } else {
      const n = Math.max(0, Math.min(limit, to - from - offset));
      indexes = Array.from({ length: n }, (_, i) => (desc ? to - 1 - offset - i : from + offset + i));
    }
    const out: StoredEntry[] = [];
    for (let i = 0; i < indexes.length; i += 5000)
      out.push(...(await this.fetch(indexes.slice(i, i + 5000))));
    // The time index is not hashed: a row whose own time is outside the range (a moved score) is
    // never returned; verify() reports the index (see indexedView).
    if (q.startMs === undefined && q.endMs === undefined) return out;
    return out.filter(
      (r) =>
        (q.startMs === undefined || r.timestampMs >= q.startMs) &&
        (q.endMs === undefined || r.timestampMs <= q.endMs),
    );
  }

  async *scan(
    options: { fromIndex?: number; toIndex?: number; chunkSize?: number; audit?: boolean } = {},
  ): AsyncIterable<StoredEntry[]> {
    const chunk = Math.max(1, options.chunkSize ?? 5000);
    // Verification reads rows as the indexes see them (indexedView); other reads need not pay for it.
    const read = options.audit
      ? async (idx: number[]) => this.indexedView(await this.fetch(idx))
      : (idx: number[]) => this.fetch(idx);
    let i = Math.max(0, options.fromIndex ?? 0);
    const range = (from: number, to: number) =>
      Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);
    let size = (await this.readHead()).size;
    // Read one chunk ahead so the database round trip overlaps the caller's work on the last chunk.
    let next: Promise<StoredEntry[]> | null = null;
    try {
      for (;;) {
        const to = Math.min(options.toIndex ?? size, size);
        if (i >= to) {
          if (options.toIndex !== undefined) return;
          const grown = (await this.readHead()).size;
          if (grown <= size) return;
          size = grown;
          continue;
        }
        const stop = Math.min(i + chunk, to);
        const rows = await (next ?? read(range(i, stop)));
        next = null;
        const after = Math.min(stop + chunk, to);
        if (after > stop) {
          next = read(range(stop, after));
          // Handled where it is awaited; if the caller stops early it is never awaited.
          next.catch(() => {});
        }
        i = stop;
        if (rows.length) yield rows;
      }
    } finally {
      next = null;
    }
  }

  async addCheckpoint(cp: StoredCheckpoint): Promise<void> {
    const value = JSON.stringify({
      root: cp.rootHash.toString('hex'),
      note: cp.note,
      created: cp.createdAtMs,
    });
    const r = await this.run('checkpoint write', (c, k) =>
      this.evalScript(c, CHECKPOINT_LUA, CHECKPOINT_SHA, checkpointKeys(k), [String(cp.size), value]),
    );
    if (Number(r) !== 1) throw new StorageError(`a checkpoint for size ${cp.size} is already stored`);
  }

  private async checkpointsAt(sizes: string[]): Promise<StoredCheckpoint[]> {
    if (sizes.length === 0) return [];
    const r = await this.run('checkpoint read', (c, k) => c.hmget(k.checkpoints, ...sizes));
    const out: StoredCheckpoint[] = [];
    sizes.forEach((s, i) => {
      const v = r[i];
      if (!v) return;
      const o = JSON.parse(v) as { root: string; note: string; created: number };
      out.push({
        size: Number(s),
        rootHash: Buffer.from(o.root, 'hex'),
        note: o.note,
        createdAtMs: o.created,
      });
    });
    return out;
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | null> {
    const s = await this.run('checkpoint read', (c, k) => c.zrange(k.checkpointSizes, '-1', '-1'));
    return (await this.checkpointsAt(s))[0] ?? null;
  }

  async getCheckpoint(size: number): Promise<StoredCheckpoint | null> {
    if (!Number.isSafeInteger(size) || size < 0) return null;
    return (await this.checkpointsAt([String(size)]))[0] ?? null;
  }

  async listCheckpoints(options: { limit?: number } = {}): Promise<StoredCheckpoint[]> {
    const limit = options?.limit;
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0))
      throw new ValidationError('limit must be a non-negative integer', { path: '/limit' });
    if (limit === 0) return [];
    const start = limit === undefined ? 0 : -limit;
    const sizes = await this.run('checkpoint read', (c, k) =>
      c.zrange(k.checkpointSizes, String(start), '-1'),
    );
    return this.checkpointsAt(sizes);
  }

  async stats(): Promise<StorageStats> {
    const [n, s, sizeText] = (await this.run('stats read', (c, k) =>
      c.pipeline().hlen(k.entries).hgetall(k.stats).hget(k.head, 'size').exec().then(values),
    )) as [number, Record<string, string>, string | null];
    if (sizeText === null) throw new StorageError('the head is missing: the store is corrupt');
    const size = Number(sizeText);
    const ends = size === 0 ? [] : await this.fetch(size === 1 ? [0] : [0, size - 1]);
    const first = ends.find((r) => r.index === 0);
    const last = ends.find((r) => r.index === size - 1);
    const entryBytes = Number(s.entryBytes ?? 0);
    return {
      entries: Math.min(n, size),
      entryBytes,
      uncompressedEntryBytes: entryBytes,
      tileBytes: Number(s.tileBytes ?? 0),
      firstTimestampMs: first?.timestampMs ?? null,
      lastTimestampMs: last?.timestampMs ?? null,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const c = this.client;
    this.client = null;
    if (!c) return;
    if (this.ownsClient) await c.quit().catch(() => c.disconnect());
    c.off('close', this.onClientClose);
    this.onClientClose();
  }
}
