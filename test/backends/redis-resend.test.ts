/**
 * Finding: a lost reply made the same entry get appended twice. ioredis resends unanswered commands
 * after a reconnect (autoResendUnfulfilledCommands: true by default); the resent commit script found
 * the head moved by its own first run, answered "conflict", and append rebuilt the same items on top.
 * A TCP proxy in front of the real Redis drops the reply to one EVALSHA and closes the connection.
 */
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBackend } from '../../src/backends/redis/index.js';
import { CommitOutcomeUnknownError } from '../../src/errors.js';
import { Ledger } from '../../src/index.js';
import type { AppendBatch, Head } from '../../src/storage/backend.js';
import { dropRedisPrefix } from '../conformance/factories/redis.js';
import { redisUrl } from '../servers.js';

const URL_ = redisUrl('redis-resend.test.ts');

interface Proxy {
  port: number;
  /** Drop the reply to the next EVALSHA/EVAL and close that client connection. */
  dropNextCommitReply(): void;
  /** Refuse (close at once) every new connection while true. */
  refuse: boolean;
  dropped: number;
  close(): Promise<void>;
}

async function startProxy(target: URL): Promise<Proxy> {
  const sockets = new Set<net.Socket>();
  const state = { armed: false, refuse: false, dropped: 0 };
  const server = net.createServer((cs) => {
    sockets.add(cs);
    cs.on('close', () => sockets.delete(cs));
    cs.on('error', () => {});
    if (state.refuse) {
      cs.destroy();
      return;
    }
    const ss = net.connect(Number(target.port || 6379), target.hostname);
    sockets.add(ss);
    ss.on('close', () => sockets.delete(ss));
    let killNextReply = false;
    cs.on('data', (d) => {
      if (state.armed && /evalsha|eval/i.test(d.toString('latin1'))) {
        state.armed = false;
        killNextReply = true;
      }
      ss.write(d);
    });
    ss.on('data', (d) => {
      if (killNextReply) {
        // The server ran the command; its reply never reaches the client.
        state.dropped++;
        killNextReply = false;
        cs.destroy();
        ss.destroy();
        return;
      }
      cs.write(d);
    });
    ss.on('error', () => {});
    cs.on('close', () => ss.destroy());
    ss.on('close', () => cs.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    dropNextCommitReply: () => {
      state.armed = true;
    },
    get refuse() {
      return state.refuse;
    },
    set refuse(v: boolean) {
      state.refuse = v;
    },
    get dropped() {
      return state.dropped;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe.skipIf(!URL_)('Redis: a commit whose reply is lost is applied once', () => {
  let proxy: Proxy;
  let direct: Redis;
  const prefixes: string[] = [];
  const prefix = (tag: string) => {
    const p = `sltest:resend${process.pid}${tag}:`;
    prefixes.push(p);
    return p;
  };

  beforeAll(async () => {
    proxy = await startProxy(new globalThis.URL(URL_!));
    direct = new Redis(URL_!);
  });
  afterAll(async () => {
    for (const p of prefixes) await dropRedisPrefix(p);
    direct.disconnect();
    await proxy.close();
  });

  async function storedIds(backend: RedisBackend): Promise<string[]> {
    const all = await direct.hgetall(backend.keys.entries);
    return Object.keys(all)
      .sort((a, b) => Number(a) - Number(b))
      .map((i) => (JSON.parse(all[i]!) as [string])[0]);
  }

  it('a client that resends unanswered commands (the ioredis default) stores the entry once', async () => {
    // Exactly the reviewer's scenario: before the fix this stored entry 2 at indexes 1 and 2.
    const client = new Redis({ host: '127.0.0.1', port: proxy.port });
    client.on('error', () => {});
    const backend = new RedisBackend({ client, prefix: prefix('a'), onWarning: () => {} });
    const ledger = await Ledger.open({ backend });
    try {
      await ledger.append({ n: 1 });
      proxy.dropNextCommitReply();
      const e = await ledger.append({ n: 2 });
      expect(proxy.dropped).toBe(1);
      expect(e.index).toBe(1);
      const ids = await storedIds(backend);
      expect(ids).toHaveLength(2);
      expect(new Set(ids).size).toBe(2);
      expect(ids[1]).toBe(e.id);
      expect((await backend.readHead()).size).toBe(2);
      expect((await ledger.verify()).ok).toBe(true);
      // The ledger keeps working on the same connection.
      expect((await ledger.append({ n: 3 })).index).toBe(2);
    } finally {
      await ledger.close();
      client.disconnect();
    }
  });

  it('the backend-created client does not resend; the backend re-sends the idempotent commit itself', async () => {
    const backend = new RedisBackend({
      host: '127.0.0.1',
      port: proxy.port,
      prefix: prefix('b'),
      onWarning: () => {},
    });
    const ledger = await Ledger.open({ backend });
    try {
      expect(
        (backend.connection as unknown as { options: { autoResendUnfulfilledCommands: boolean } }).options
          .autoResendUnfulfilledCommands,
      ).toBe(false);
      await ledger.append({ n: 1 });
      const before = proxy.dropped;
      proxy.dropNextCommitReply();
      const e = await ledger.append({ n: 2 });
      expect(proxy.dropped).toBe(before + 1);
      expect(e.index).toBe(1);
      const ids = await storedIds(backend);
      expect(ids).toEqual([expect.any(String), e.id]);
      expect(new Set(ids).size).toBe(2);
      expect((await ledger.verify()).ok).toBe(true);
    } finally {
      await ledger.close();
    }
  });

  it('when Redis stays unreachable the append fails with CommitOutcomeUnknownError (and was in fact stored)', async () => {
    const p = prefix('c');
    const backend = new RedisBackend({
      host: '127.0.0.1',
      port: proxy.port,
      prefix: p,
      maxRetryMs: 300,
      onWarning: () => {},
    });
    const ledger = await Ledger.open({ backend });
    try {
      await ledger.append({ n: 1 });
      proxy.dropNextCommitReply();
      proxy.refuse = true;
      const err = await ledger.append({ n: 2 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CommitOutcomeUnknownError);
      expect((err as CommitOutcomeUnknownError).code).toBe('STORAGE_COMMIT_UNKNOWN');
      expect(await direct.hget(backend.keys.head, 'size')).toBe('2');
    } finally {
      proxy.refuse = false;
      await ledger.close();
    }
  });

  it('the commit script answers "already stored" for a batch it applied, even after the head moved on', async () => {
    const backend = new RedisBackend({ url: URL_!, prefix: prefix('d'), onWarning: () => {} });
    const ledger = await Ledger.open({ backend });
    try {
      await ledger.append({ n: 1 });
      let seen: { head: Head; batch: AppendBatch } | null = null;
      const inner = backend.append.bind(backend);
      // Capture the head and batch of the next append.
      (backend as unknown as { append: typeof inner }).append = (build) =>
        inner(async (ctx) => {
          const batch = await build(ctx);
          seen = { head: ctx.head, batch };
          return batch;
        });
      await ledger.append({ n: 2 });
      (backend as unknown as { append: typeof inner }).append = inner;
      const commit = (h: Head, b: AppendBatch) =>
        (backend as unknown as { commit(h: Head, b: AppendBatch, l: number): Promise<number> }).commit(
          h,
          b,
          1000,
        );
      const { head, batch } = seen!;
      expect(await commit(head, batch)).toBe(2);
      await ledger.append({ n: 3 });
      expect(await commit(head, batch)).toBe(2);
      // A different batch built on the same stale head is a lost race, not "already stored".
      const other = { ...batch, entries: batch.entries.map((e) => ({ ...e, body: `${e.body} ` })) };
      expect(await commit(head, other)).toBe(0);
      expect(await storedIds(backend)).toHaveLength(3);
      expect((await ledger.verify()).ok).toBe(true);
    } finally {
      await ledger.close();
    }
  });
});
