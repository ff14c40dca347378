import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { signledgerPlugin } from '../../src/integrations/fastify/index.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { sqliteLedger } from './helpers.js';
import { describeHttpIntegration, FAIL_MESSAGE, type HttpHarness } from './http-suite.js';

describeHttpIntegration({
  name: 'fastify',
  hasClientAddress: true,
  async create(ledger, spec): Promise<HttpHarness> {
    const app = Fastify({ logger: false });
    await app.register(signledgerPlugin, {
      ledger,
      audit: { ...spec.audit, actor: (req) => req.headers['x-user'] as string | undefined },
      routes: spec.authorize === 'role' ? { authorize: (req) => req.headers['x-role'] === 'auditor' } : {},
    });
    app.post('/api/transfer', async (_req, reply) => reply.code(201).send({ ok: true }));
    app.get('/api/accounts/:id', async (req) => ({ id: (req.params as { id: string }).id }));
    app.get('/api/fail', async () => {
      throw new Error(FAIL_MESSAGE);
    });
    await app.ready();
    return {
      auditor: app.signledgerAuditor!,
      async request(method, url, opts = {}) {
        const res = await app.inject({
          method,
          url,
          headers: opts.headers,
          ...(opts.body === undefined ? {} : { payload: opts.body as object }),
        });
        return { status: res.statusCode, body: res.body ? res.json() : undefined };
      },
      async close() {
        await app.close();
      },
    };
  },
});

describe('fastify: specifics', () => {
  it('opens the ledger from { url }, decorates app.ledger, uses the prefix, and closes what it opened', async () => {
    const t = await sqliteLedger();
    await t.ledger.close();
    const app = Fastify({ logger: false });
    await app.register(signledgerPlugin, {
      url: `sqlite:${t.path}`,
      routes: { prefix: '/_audit', authorize: () => true },
    });
    app.get('/ping', async () => ({ pong: true }));
    await app.ready();
    expect(app.ledger).toBeInstanceOf(Ledger);
    expect((await app.inject({ url: '/ping' })).statusCode).toBe(200);
    await app.signledgerAuditor!.flush();
    const res = await app.inject({ url: '/_audit/entries' });
    expect(res.statusCode).toBe(200);
    expect(res.json().entries[0].data).toMatchObject({
      route: '/ping',
      status: 200,
      requestId: expect.stringMatching(/^req-/),
    });
    expect((await app.inject({ url: '/audit/entries' })).statusCode).toBe(404);
    const ledger = app.ledger;
    await app.close();
    await expect(ledger.getStats()).rejects.toMatchObject({ code: 'CLOSED' });
    await t.cleanup();
  });

  it('refuses ambiguous options', async () => {
    const app = Fastify({ logger: false });
    await expect(app.register(signledgerPlugin, {}).ready()).rejects.toMatchObject({
      code: 'CONFIGURATION_INVALID',
    });
  });

  it('can leave auditing off while mounting routes', async () => {
    const t = await sqliteLedger();
    const app = Fastify({ logger: false });
    await app.register(signledgerPlugin, {
      ledger: t.ledger,
      audit: false,
      routes: { authorize: () => true },
    });
    await app.ready();
    expect(app.signledgerAuditor).toBeNull();
    expect((await app.inject({ url: '/audit/verify' })).json()).toMatchObject({
      valid: true,
      totalEntries: 0,
    });
    await app.close();
    expect((await t.ledger.getStats()).totalEntries).toBe(0);
    await t.cleanup();
  });
});
