import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { auditMiddleware, auditRoutes } from '../../src/integrations/hono/index.js';
import { sqliteLedger } from './helpers.js';
import { describeHttpIntegration, FAIL_MESSAGE, type HttpHarness } from './http-suite.js';

function build(
  ledger: Parameters<typeof auditMiddleware>[0],
  spec: Parameters<Parameters<typeof describeHttpIntegration>[0]['create']>[1],
) {
  const app = new Hono();
  const mw = auditMiddleware(ledger, { ...spec.audit, actor: (c) => c.req.header('x-user') });
  app.use(mw);
  app.post('/api/transfer', async (c) => {
    await c.req.json();
    return c.json({ ok: true }, 201);
  });
  app.get('/api/accounts/:id', (c) => c.json({ id: c.req.param('id') }));
  app.get('/api/fail', () => {
    throw new Error(FAIL_MESSAGE);
  });
  app.route(
    '/audit',
    auditRoutes(
      ledger,
      spec.authorize === 'role' ? { authorize: (c) => c.req.header('x-role') === 'auditor' } : {},
    ),
  );
  app.onError((_err, c) => c.json({ error: 'internal' }, 500));
  return { app, mw };
}

describeHttpIntegration({
  name: 'hono',
  hasClientAddress: false,
  async create(ledger, spec): Promise<HttpHarness> {
    const { app, mw } = build(ledger, spec);
    return {
      auditor: mw.auditor,
      async request(method, path, opts = {}) {
        const init: RequestInit = { method, headers: { ...(opts.headers ?? {}) } };
        if (opts.body !== undefined) {
          init.body = JSON.stringify(opts.body);
          (init.headers as Record<string, string>)['content-type'] = 'application/json';
        }
        const res = await app.request(path, init);
        const text = await res.text();
        return { status: res.status, body: text ? JSON.parse(text) : undefined };
      },
      async close() {
        await mw.auditor.close();
      },
    };
  },
});

describe('hono: specifics', () => {
  it('records the client address under @hono/node-server on 127.0.0.1', async () => {
    const t = await sqliteLedger();
    const { app, mw } = build(t.ledger, { authorize: 'none', audit: {} });
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    try {
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/api/accounts/5`, { headers: { 'x-user': 'erin' } });
      expect(res.status).toBe(200);
      await mw.auditor.flush();
      const [e] = await t.ledger.getEntries();
      expect(e!.data).toMatchObject({
        ip: expect.stringMatching(/127\.0\.0\.1/),
        route: '/api/accounts/:id',
        actor: 'erin',
      });
    } finally {
      await new Promise((r) => server.close(r));
      await t.cleanup();
    }
  });
});
