/**
 * durability: { waitAof, waitReplicas } and the persistence check at open, against the real Redis.
 * What the test server supports is read from INFO; WAITAOF (Redis >= 7.2) is exercised for real when
 * the server has it, and through a proxy that answers WAITAOF in its place when it does not.
 */
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBackend } from '../../src/backends/redis/index.js';
import { CommitOutcomeUnknownError, ConfigurationError, StorageError } from '../../src/errors.js';
import { Ledger } from '../../src/index.js';
import { dropRedisPrefix } from '../conformance/factories/redis.js';
import { redisUrl } from '../servers.js';

const URL_ = redisUrl('redis-durability.test.ts');

function encode(args: string[]): Buffer {
  const parts = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) parts.push(Buffer.from(`$${Buffer.byteLength(a)}\r\n${a}\r\n`));
  return Buffer.concat(parts);
}

/** Parse complete RESP commands (arrays of bulk strings) off the front of buf. */
function parseCommands(buf: Buffer): { commands: Buffer[][]; rest: Buffer } {
  const commands: Buffer[][] = [];
  let pos = 0;
  outer: for (;;) {
    const start = pos;
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0 || buf[pos] !== 0x2a) break;
    const n = Number(buf.subarray(pos + 1, eol).toString());
    pos = eol + 2;
    const args: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const e = buf.indexOf('\r\n', pos);
      if (e < 0) {
        pos = start;
        break outer;
      }
      const len = Number(buf.subarray(pos + 1, e).toString());
      if (buf.length < e + 2 + len + 2) {
        pos = start;
        break outer;
      }
      args.push(buf.subarray(e + 2, e + 2 + len));
      pos = e + 2 + len + 2;
    }
    commands.push(args);
  }
  return { commands, rest: buf.subarray(pos) };
}

/**
 * A proxy that rewrites two commands: INFO answers a fake `redis_version` (so the backend accepts
 * waitAof) and WAITAOF answers the configured acknowledgement counts (through an EVAL on the real
 * server). Every command name is recorded in order.
 */
async function startWaitAofProxy(target: URL) {
  const state = { ack: [1, 0] as [number, number], version: '7.2.4', seen: [] as string[] };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((cs) => {
    const ss = net.connect(Number(target.port || 6379), target.hostname);
    sockets.add(cs);
    sockets.add(ss);
    let buf: Buffer = Buffer.alloc(0);
    cs.on('data', (d) => {
      const { commands, rest } = parseCommands(Buffer.concat([buf, d]));
      buf = rest;
      for (const args of commands) {
        const name = args[0]!.toString().toLowerCase();
        state.seen.push(name);
        if (name === 'info') ss.write(encode(['EVAL', `return 'redis_version:${state.version}\\r\\n'`, '0']));
        else if (name === 'waitaof')
          ss.write(encode(['EVAL', `return {${state.ack[0]}, ${state.ack[1]}}`, '0']));
        else ss.write(encodeRaw(args));
      }
    });
    ss.on('data', (d) => cs.write(d));
    for (const s of [cs, ss]) {
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        cs.destroy();
        ss.destroy();
      });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    state,
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function encodeRaw(args: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) parts.push(Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

describe.skipIf(!URL_)('Redis durability', () => {
  let direct: Redis;
  let version = '';
  let appendonly: string | undefined;
  let replicas = 0;
  const prefixes: string[] = [];
  let n = 0;
  const prefix = () => {
    const p = `sltest:dur${process.pid}_${n++}:`;
    prefixes.push(p);
    return p;
  };

  beforeAll(async () => {
    direct = new Redis(URL_!);
    const info = await direct.info('server');
    version = /^redis_version:(\S+)/m.exec(info)![1]!;
    replicas = Number(/^connected_slaves:(\d+)/m.exec(await direct.info('replication'))?.[1] ?? 0);
    appendonly = ((await direct.config('GET', 'appendonly')) as string[])[1];
    console.info(`[redis-durability] server ${version}, appendonly ${appendonly}, ${replicas} replicas`);
  });
  afterAll(async () => {
    for (const p of prefixes) await dropRedisPrefix(p);
    direct.disconnect();
  });

  const hasWaitAof = () => {
    const [a = 0, b = 0] = version.split('.').map(Number);
    return a > 7 || (a === 7 && b >= 2);
  };

  it('rejects malformed durability options', () => {
    for (const durability of [
      { waitAof: { local: 2, replicas: 0, timeoutMs: 10 } },
      { waitAof: { local: 0, replicas: 0, timeoutMs: 10 } },
      { waitAof: { local: 1, replicas: 0, timeoutMs: 0 } },
      { waitReplicas: { n: 0, timeoutMs: 10 } },
      { waitReplicas: { n: 1, timeoutMs: -1 } },
      { waitAof: 'yes' },
    ]) {
      expect(() => new RedisBackend({ durability } as never)).toThrow(ConfigurationError);
    }
  });

  it('warns once at open when the server runs without AOF', async () => {
    const warnings: string[] = [];
    const backend = new RedisBackend({ url: URL_!, prefix: prefix(), onWarning: (m) => warnings.push(m) });
    const ledger = await Ledger.open({ backend });
    await ledger.close();
    if (appendonly === 'no') {
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/appendonly no/);
    } else {
      expect(warnings).toEqual([]);
    }
  });

  it('waitReplicas: an append whose WAIT is not satisfied is stored but not confirmed', async () => {
    if (replicas > 0) return; // the test server has no replicas; with one, WAIT 1 would succeed
    const backend = new RedisBackend({
      url: URL_!,
      prefix: prefix(),
      onWarning: () => {},
      durability: { waitReplicas: { n: 1, timeoutMs: 50 } },
    });
    const ledger = await Ledger.open({ backend });
    try {
      const err = await ledger.append({ a: 1 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CommitOutcomeUnknownError);
      expect((err as CommitOutcomeUnknownError).code).toBe('STORAGE_COMMIT_UNKNOWN');
      expect((err as Error).message).toMatch(/stored but not confirmed/);
      expect((err as CommitOutcomeUnknownError).details).toMatchObject({ stored: true, waitReplicas: 0 });
      // Stored: the head moved and the entry reads back.
      expect((await backend.readHead()).size).toBe(1);
      expect(await backend.getByIndex(0)).not.toBeNull();
      expect((await ledger.verify()).ok).toBe(true);
    } finally {
      await ledger.close();
    }
  });

  it('waitAof on this server: works when supported, refused at open otherwise', async () => {
    const backend = new RedisBackend({
      url: URL_!,
      prefix: prefix(),
      onWarning: () => {},
      durability: { waitAof: true },
    });
    const ledger = new Ledger({ backend });
    try {
      if (!hasWaitAof() || appendonly === 'no') {
        const err = await ledger.open().then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(StorageError);
        expect((err as StorageError).code).toBe('STORAGE_INCOMPATIBLE');
        expect((err as Error).message).toMatch(hasWaitAof() ? /appendonly yes/ : /WAITAOF.*7\.2/);
      } else {
        await ledger.open();
        expect((await ledger.append({ a: 1 })).index).toBe(0);
      }
    } finally {
      await ledger.close();
    }
  });

  it('waitAof: the wait goes out right behind the commit script, and its counts decide', async () => {
    const proxy = await startWaitAofProxy(new globalThis.URL(URL_!));
    const backend = new RedisBackend({
      host: '127.0.0.1',
      port: proxy.port,
      prefix: prefix(),
      onWarning: () => {},
      durability: { waitAof: { local: 0, replicas: 1, timeoutMs: 100 } },
    });
    const ledger = await Ledger.open({ backend });
    try {
      proxy.state.ack = [0, 1];
      proxy.state.seen.length = 0;
      expect((await ledger.append({ a: 1 })).index).toBe(0);
      const at = proxy.state.seen.findIndex((c) => c === 'evalsha' || c === 'eval');
      expect(proxy.state.seen[at + 1]).toBe('waitaof');
      proxy.state.ack = [0, 0];
      const err = await ledger.append({ a: 2 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CommitOutcomeUnknownError);
      expect((err as Error).message).toMatch(
        /stored but not confirmed.*WAITAOF confirmed 0 of 0 local AOF fsync and 0 of 1 replicas/,
      );
      expect((await backend.readHead()).size).toBe(2);
      expect((await ledger.verify()).ok).toBe(true);
    } finally {
      await ledger.close();
      await proxy.close();
    }
  });
});
