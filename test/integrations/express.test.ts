import type { Server } from 'node:http';
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { auditMiddleware, auditRouter, verifyRoute } from '../../src/integrations/express/index.js';
import { sqliteLedger } from './helpers.js';
import { describeHttpIntegration, type HttpHarness } from './http-suite.js';

async function listen(app: express.Express): Promise<Server> {
  return new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
}

describeHttpIntegration({
  name: 'express',
  hasClientAddress: true,
  async create(ledger, spec): Promise<HttpHarness> {
    const app = express();
    app.use(express.json());
    const mw = auditMiddleware(ledger, { ...spec.audit, actor: (req) => req.get('x-user') });
    app.use(mw);
    app.post('/api/transfer', (_req, res) => {
      res.status(201).json({ ok: true });
    });
    app.get('/api/accounts/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    app.get('/api/fail', () => {
      throw new Error('boom');
    });
    app.use(
      '/audit',
      auditRouter(
        ledger,
        spec.authorize === 'role' ? { authorize: (req) => req.get('x-role') === 'auditor' } : {},
      ),
    );
    // Quiet error handler (Express would print the stack).
    app.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ error: 'internal' });
    });
    const server = await listen(app);
    const agent = request(server);
    return {
      auditor: mw.auditor,
      async request(method, path, opts = {}) {
        let r = method === 'GET' ? agent.get(path) : agent.post(path);
        for (const [k, v] of Object.entries(opts.headers ?? {})) r = r.set(k, v);
        const res = opts.body === undefined ? await r : await r.send(opts.body as object);
        return { status: res.status, body: res.body };
      },
      async close() {
        await mw.auditor.close();
        await new Promise((r) => server.close(r));
      },
    };
  },
});

describe('express: specifics', () => {
  it("verifyRoute answers the seed's /api/audit/verify, and denies without a hook", async () => {
    const t = await sqliteLedger();
    try {
      await t.ledger.append({ action: 'payment', amount: 1 });
      const app = express();
      app.get('/api/audit/verify', verifyRoute(t.ledger, { authorize: () => true }));
      app.get('/api/audit/verify-denied', verifyRoute(t.ledger));
      const ok = await request(app).get('/api/audit/verify');
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ valid: true, totalEntries: 1 });
      expect(typeof ok.body.lastEntry).toBe('string');
      expect((await request(app).get('/api/audit/verify-denied')).status).toBe(403);
    } finally {
      await t.cleanup();
    }
  });

  it('records the full route pattern of nested routers, and null for unmatched routes', async () => {
    const t = await sqliteLedger();
    try {
      const app = express();
      const mw = auditMiddleware(t.ledger, { onError: () => {} });
      app.use(mw);
      const accounts = express.Router();
      accounts.get('/:id/history', (req, res) => {
        res.json({ id: req.params.id });
      });
      app.use('/v2/accounts', accounts);
      await request(app).get('/v2/accounts/9/history');
      await request(app).get('/nowhere');
      await mw.auditor.flush();
      const [a, b] = await t.ledger.getEntries();
      expect(a!.data).toMatchObject({ route: '/v2/accounts/:id/history', status: 200 });
      expect(b!.data).toMatchObject({ route: null, path: '/nowhere', status: 404 });
    } finally {
      await t.cleanup();
    }
  });
});
