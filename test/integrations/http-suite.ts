/**
 * One behavioural suite run against every HTTP integration (Express, Fastify, Koa, Hono, NestJS),
 * each through its own test client or a real server on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry } from '../../src/entry/types.js';
import type { AuditFailureInfo, Auditor } from '../../src/integrations/shared/auditor.js';
import type { RequestAuditOptions } from '../../src/integrations/shared/request-audit.js';
import type { Ledger } from '../../src/ledger/ledger.js';
import { generateLogKey } from '../../src/ledger/log-key.js';
import { verifyInclusion } from '../../src/verify/proofs.js';
import {
  assertNoSecrets,
  SECRET_BODY,
  SECRET_HEADERS,
  SECRETS,
  sqliteLedger,
  type TestLedger,
} from './helpers.js';

export interface HttpResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies
  body: any;
}

export interface HttpHarness {
  request(
    method: 'GET' | 'POST',
    path: string,
    opts?: { headers?: Record<string, string>; body?: unknown },
  ): Promise<HttpResponse>;
  auditor: Auditor;
  close(): Promise<void>;
}

export interface AppSpec {
  /** Request auditing options; the adapter adds `actor` = the `x-user` header. */
  // biome-ignore lint/suspicious/noExplicitAny: framework request types differ
  audit?: Omit<RequestAuditOptions<any>, 'actor'>;
  /** `none`: no authorize hook; `role`: allow when header `x-role: auditor`. */
  authorize: 'none' | 'role';
}

/** What GET /api/fail throws (as `new Error(FAIL_MESSAGE)`): a secret in the message. */
export const FAIL_MESSAGE = 'failed with token=abc123';

/**
 * Each adapter builds the same app: POST /api/transfer (201), GET /api/accounts/:id (200),
 * GET /api/fail (throws `new Error(FAIL_MESSAGE)` → 500), audit routes under /audit.
 */
export interface HttpAdapter {
  name: string;
  /** Whether the client used yields a client address (real sockets do; Hono's app.request does not). */
  hasClientAddress: boolean;
  create(ledger: Ledger, spec: AppSpec): Promise<HttpHarness>;
}

function revive(json: Record<string, unknown>): Entry {
  return { ...(json as unknown as Entry), timestamp: new Date(json.timestamp as string) };
}

export function describeHttpIntegration(adapter: HttpAdapter): void {
  describe(`${adapter.name}: request auditing`, () => {
    let t: TestLedger;
    let app: HttpHarness | null = null;
    const errors: AuditFailureInfo[] = [];
    const onError = (_e: unknown, info: AuditFailureInfo) => {
      errors.push(info);
    };

    async function setup(spec: Partial<AppSpec> = {}, ledgerOpts = {}) {
      t = await sqliteLedger(ledgerOpts);
      errors.length = 0;
      app = await adapter.create(t.ledger, {
        authorize: 'none',
        ...spec,
        audit: { onError, ...(spec.audit ?? {}) },
      });
      return app;
    }

    afterEach(async () => {
      await app?.close();
      app = null;
      await t?.cleanup();
    });

    async function all(): Promise<Entry[]> {
      return t.ledger.getEntries();
    }

    it('records method, route pattern, status, duration, actor, request id and client address', async () => {
      const a = await setup();
      const r1 = await a.request('POST', '/api/transfer', {
        headers: { 'x-user': 'alice', 'x-request-id': 'req-123', 'user-agent': 'suite/1' },
        body: { from: 'ACC001', to: 'ACC002', amount: 10 },
      });
      expect(r1.status).toBe(201);
      const r2 = await a.request('GET', '/api/accounts/42?verbose=1', { headers: { 'x-user': 'bob' } });
      expect(r2.status).toBe(200);
      const r3 = await a.request('GET', '/api/fail');
      expect(r3.status).toBe(500);
      expect((await a.auditor.flush()).remaining).toBe(0);

      const entries = await all();
      expect(entries).toHaveLength(3);
      const post = entries.find((e) => e.data?.method === 'POST')!.data!;
      expect(post).toMatchObject({
        event: 'http_request',
        route: '/api/transfer',
        path: '/api/transfer',
        status: 201,
        actor: 'alice',
        requestId: 'req-123',
      });
      expect(post.headers).toMatchObject({ 'user-agent': 'suite/1' });
      expect(typeof post.durationMs).toBe('number');
      expect(post.durationMs as number).toBeGreaterThanOrEqual(0);
      expect(Number.isNaN(Date.parse(post.at as string))).toBe(false);
      expect(post).not.toHaveProperty('body');
      if (adapter.hasClientAddress) expect(post.ip).toMatch(/127\.0\.0\.1/);

      const get = entries.find((e) => e.data?.method === 'GET' && e.data?.status === 200)!.data!;
      expect(get).toMatchObject({ route: '/api/accounts/:id', path: '/api/accounts/42', actor: 'bob' });
      expect(get).not.toHaveProperty('query');
      expect(typeof get.requestId).toBe('string');
      expect(get.requestId).not.toBe('req-123');

      const fail = entries.find((e) => e.data?.status === 500)!.data!;
      expect(fail).toMatchObject({ route: '/api/fail', actor: null });
      // What the handler threw, its message scrubbed of the secret; never the stack.
      expect(fail.error).toEqual({ name: 'Error', message: 'failed with token=[REDACTED]' });
      expect(JSON.stringify(entries)).not.toContain('abc123');
      for (const e of entries.filter((x) => x !== entries.find((y) => y.data === fail))) {
        expect(e.data).not.toHaveProperty('error');
      }
      await expect(t.ledger.verifyIntegrity()).resolves.toBe(true);
    });

    it('records only the error name with errorMessages: false', async () => {
      const a = await setup({ audit: { errorMessages: false } });
      expect((await a.request('GET', '/api/fail')).status).toBe(500);
      await a.auditor.flush();
      const [e] = await all();
      expect(e!.data).toMatchObject({ route: '/api/fail', status: 500 });
      expect(e!.data!.error).toEqual({ name: 'Error' });
      await t.ledger.close();
      expect(t.rawStorage()).not.toContain('abc123');
    });

    it('never records secrets from headers, query or body, even when everything is recorded', async () => {
      const a = await setup({ audit: { headers: true, body: true, query: true } });
      const r = await a.request('POST', `/api/transfer?token=${SECRETS.token}&note=hello`, {
        headers: { ...SECRET_HEADERS, 'x-user': 'alice' },
        body: SECRET_BODY,
      });
      expect(r.status).toBe(201);
      await a.auditor.flush();
      const [e] = await all();
      const d = e!.data!;
      expect(d.body).toMatchObject({
        from: 'ACC001',
        amount: 150,
        password: '[REDACTED]',
        nested: { refresh_token: '[REDACTED]', card: '[REDACTED]' },
      });
      expect(d.headers).toMatchObject({
        authorization: '[REDACTED]',
        cookie: '[REDACTED]',
        'x-api-key': '[REDACTED]',
      });
      expect(d.query).toMatchObject({ token: '[REDACTED]' });
      expect(assertNoSecrets(JSON.stringify(await all()))).toEqual([]);
      await t.ledger.close();
      expect(assertNoSecrets(t.rawStorage())).toEqual([]);
    });

    it('keeps bodies off by default and honours allow-lists and extra deny names', async () => {
      const a = await setup({
        audit: {
          body: ['amount', 'password', 'memo'],
          headers: ['x-user', 'authorization'],
          redact: ['memo'],
        },
      });
      await a.request('POST', '/api/transfer', {
        headers: { ...SECRET_HEADERS, 'x-user': 'carol' },
        body: { ...SECRET_BODY, memo: 'internal' },
      });
      await a.auditor.flush();
      const d = (await all())[0]!.data!;
      // Allow-listed but denied names stay redacted: secrets never reach the log.
      expect(d.body).toEqual({ amount: 150, password: '[REDACTED]', memo: '[REDACTED]' });
      expect(d.headers).toEqual({ 'x-user': 'carol', authorization: '[REDACTED]' });
    });

    it('completes requests while the ledger is down, reports and queues the entries, writes them on flush', async () => {
      const a = await setup();
      t.flaky.down = true;
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => a.request('GET', `/api/accounts/${i}`)),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
      await a.auditor.flush();
      expect(errors.length).toBeGreaterThanOrEqual(20);
      expect(errors.every((e) => e.reason === 'append_failed' && e.willRetry)).toBe(true);
      expect(a.auditor.failed).toBeGreaterThanOrEqual(20);
      expect(a.auditor.pending).toBe(20);
      expect(
        a.auditor
          .pendingEntries()
          .map((d) => d.path)
          .sort(),
      ).toEqual(Array.from({ length: 20 }, (_, i) => `/api/accounts/${i}`).sort());
      expect((await t.ledger.getStats()).totalEntries).toBe(0);

      t.flaky.down = false;
      expect((await a.auditor.flush()).remaining).toBe(0);
      expect(a.auditor.pending).toBe(0);
      expect(a.auditor.written).toBe(20);
      expect((await t.ledger.getStats()).totalEntries).toBe(20);
      await expect(t.ledger.verifyIntegrity()).resolves.toBe(true);
    });

    it('still answers when the ledger was closed under it, and does not retry that entry', async () => {
      const a = await setup();
      await t.ledger.close();
      const r = await a.request('POST', '/api/transfer', { body: { amount: 1 } });
      expect(r.status).toBe(201);
      await a.auditor.flush();
      // A closed ledger never reopens: the entry is reported and let go, not queued for ever.
      expect(a.auditor.stats()).toMatchObject({ failed: 1, rejected: 1, pending: 0, written: 0 });
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({
        reason: 'rejected',
        willRetry: false,
        data: { path: '/api/transfer' },
      });
    });

    it('with await: true the entry is written before the response completes, and failure still answers', async () => {
      const a = await setup({ audit: { await: true } });
      const r = await a.request('GET', '/api/accounts/7', { headers: { 'x-user': 'dave' } });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ id: '7' });
      // No flush: the append resolved before the response ended.
      expect((await t.ledger.getStats()).totalEntries).toBe(1);
      t.flaky.down = true;
      const r2 = await a.request('GET', '/api/accounts/8');
      expect(r2.status).toBe(200);
      expect(a.auditor.pending).toBe(1);
    });

    it('audit routes deny by default (403 without an authorize hook)', async () => {
      const a = await setup({ authorize: 'none' });
      for (const p of ['/audit/entries', '/audit/entries/0', '/audit/checkpoint', '/audit/verify']) {
        const r = await a.request('GET', p, { headers: { 'x-role': 'auditor' } });
        expect(r.status, p).toBe(403);
        expect(r.body.error).toBe('forbidden');
      }
    });

    it('audit routes: allowed by the hook, serve pages, proofs, checkpoint and verification', async () => {
      const logKey = generateLogKey('audit.example/log');
      const a = await setup({ authorize: 'role', audit: { skip: () => true } }, { logKey });
      expect((await a.request('GET', '/audit/entries')).status).toBe(403);
      expect((await a.request('GET', '/audit/entries', { headers: { 'x-role': 'intern' } })).status).toBe(
        403,
      );
      const ok = { headers: { 'x-role': 'auditor' } };
      expect((await a.request('GET', '/audit/checkpoint', ok)).status).toBe(404);

      for (let i = 0; i < 5; i++) await t.ledger.append({ action: 'transfer', n: i });
      const cp = await t.ledger.checkpoint();
      await t.ledger.append({ action: 'after-checkpoint' });

      const page = await a.request('GET', '/audit/entries?limit=2&offset=1', ok);
      expect(page.status).toBe(200);
      expect(page.body.total).toBe(6);
      expect(page.body.entries.map((e: Entry) => e.index)).toEqual([1, 2]);
      const desc = await a.request('GET', '/audit/entries?order=desc&limit=1', ok);
      expect(desc.body.entries[0].data).toEqual({ action: 'after-checkpoint' });

      const one = await a.request('GET', `/audit/entries/${page.body.entries[0].id}`, ok);
      expect(one.status).toBe(200);
      expect(one.body.checkpoint.size).toBe(5);
      expect(
        verifyInclusion(revive(one.body.entry), one.body.proof, one.body.checkpoint, t.ledger.verifierKey!),
      ).toBe(true);
      const byIndex = await a.request('GET', '/audit/entries/5', ok);
      expect(byIndex.status).toBe(200);
      expect(byIndex.body.checkpoint).toBeNull();
      expect(byIndex.body.proof.size).toBe(6);

      const c = await a.request('GET', '/audit/checkpoint', ok);
      expect(c.status).toBe(200);
      expect(c.body.checkpoint.text).toBe(cp.text);

      const v = await a.request('GET', '/audit/verify', ok);
      expect(v.status).toBe(200);
      expect(v.body).toMatchObject({ valid: true, totalEntries: 6, failure: null });

      expect((await a.request('GET', '/audit/entries?limit=abc', ok)).status).toBe(400);
      expect((await a.request('GET', '/audit/entries?order=sideways', ok)).status).toBe(400);
      expect((await a.request('GET', '/audit/entries/999', ok)).status).toBe(404);
      expect((await a.request('GET', '/audit/entries/no-such-id', ok)).status).toBe(404);
    });

    it('hundreds of parallel requests give as many entries in one valid chain', async () => {
      const a = await setup();
      const n = 300;
      const rs = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          a.request('GET', `/api/accounts/${i}`, { headers: { 'x-user': `u${i % 7}` } }),
        ),
      );
      expect(rs.every((r) => r.status === 200)).toBe(true);
      expect((await a.auditor.flush()).remaining).toBe(0);
      const entries = await all();
      expect(entries).toHaveLength(n);
      expect(new Set(entries.map((e) => e.data?.path)).size).toBe(n);
      expect(new Set(entries.map((e) => e.data?.requestId)).size).toBe(n);
      expect(entries.map((e) => e.index)).toEqual(Array.from({ length: n }, (_, i) => i));
      await expect(t.ledger.verifyIntegrity()).resolves.toBe(true);
    });
  });
}
