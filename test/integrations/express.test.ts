import type { Server } from 'node:http';
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { auditMiddleware, auditRouter, verifyRoute } from '../../src/integrations/express/index.js';
import { sqliteLedger } from './helpers.js';
import { describeHttpIntegration, FAIL_MESSAGE, type HttpHarness } from './http-suite.js';

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
      throw new Error(FAIL_MESSAGE);
    });
    app.use(
      '/audit',
      auditRouter(
        ledger,
        spec.authorize === 'role' ? { authorize: (req) => req.get('x-role') === 'auditor' } : {},
      ),
    );
    // As documented: after the routes, before your own error handlers.
    app.use(mw.errorHandler);
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
  it('errorHandler records what a handler threw or passed to next(), and passes the same error on', async () => {
    const t = await sqliteLedger();
    const server = await (async () => {
      const app = express();
      const audit = auditMiddleware(t.ledger, { onError: () => {} });
      app.use(audit);
      app.get('/sync', () => {
        throw new Error('failed with token=abc123');
      });
      app.get('/async', async () => {
        throw Object.assign(new RangeError('no such page; password=hunter2'), { status: 404 });
      });
      app.get('/next', (_req, _res, next) => {
        next(new TypeError('bad input: authorization: Bearer abcdefgh12345678'));
      });
      app.get('/ok', (_req, res) => {
        res.json({ ok: true });
      });
      app.use(audit.errorHandler);
      // Your own error handler still receives the error, unchanged.
      const seen: unknown[] = [];
      app.use((err: Error, req: express.Request, res: express.Response, next: express.NextFunction) => {
        seen.push(err);
        if (req.path === '/next') return void res.status(422).json({ error: err.name });
        next(err); // Express's final handler answers with err.status or 500
      });
      const s = await listen(app);
      return Object.assign(s, { audit, seen });
    })();
    try {
      const agent = request(server);
      expect((await agent.get('/sync')).status).toBe(500);
      expect((await agent.get('/async')).status).toBe(404);
      expect((await agent.get('/next')).status).toBe(422);
      expect((await agent.get('/ok')).status).toBe(200);
      expect(server.seen.map((e) => (e as Error).name)).toEqual(['Error', 'RangeError', 'TypeError']);
      expect(server.seen[0]).toMatchObject({ message: 'failed with token=abc123' });
      expect((await server.audit.auditor.flush()).remaining).toBe(0);
      const data = (await t.ledger.getEntries()).map((e) => e.data!);
      expect(data.map((d) => [d.path, d.status, d.error])).toEqual([
        ['/sync', 500, { name: 'Error', message: 'failed with token=[REDACTED]' }],
        ['/async', 404, { name: 'RangeError', message: 'no such page; password=[REDACTED]' }],
        ['/next', 422, { name: 'TypeError', message: 'bad input: authorization: Bearer [REDACTED]' }],
        ['/ok', 200, undefined],
      ]);
      expect(data[3]).not.toHaveProperty('error');
      await t.ledger.close();
      for (const s of ['abc123', 'hunter2', 'abcdefgh12345678']) expect(t.rawStorage()).not.toContain(s);
    } finally {
      await new Promise((r) => server.close(r));
      await server.audit.auditor.close();
      await t.cleanup();
    }
  });

  it('with await: true the error is in the entry written before the response ends', async () => {
    const t = await sqliteLedger();
    const app = express();
    const audit = auditMiddleware(t.ledger, { await: true, errorMessages: false, onError: () => {} });
    app.use(audit);
    app.post('/pay', express.json(), () => {
      throw new SyntaxError('amount: token=abc123');
    });
    app.use(audit.errorHandler);
    const server = await listen(app);
    try {
      expect((await request(server).post('/pay').send({ amount: 1 })).status).toBe(500);
      // No flush: written before the response ended.
      const [e] = await t.ledger.getEntries();
      expect(e!.data).toMatchObject({ route: '/pay', status: 500, error: { name: 'SyntaxError' } });
      expect(e!.data!.error).toEqual({ name: 'SyntaxError' });
    } finally {
      await new Promise((r) => server.close(r));
      await audit.auditor.close();
      await t.cleanup();
    }
  });

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

  it('keeps the mount prefix when a nested route throws, and records null when it passed on to a 404', async () => {
    const t = await sqliteLedger();
    try {
      const app = express();
      const mw = auditMiddleware(t.ledger, { onError: () => {} });
      app.use(mw);
      const accounts = express.Router();
      accounts.get('/:id/history', () => {
        throw new Error('nested fail');
      });
      accounts.get('/:id/async', async () => {
        await new Promise((r) => setTimeout(r, 5));
        throw new Error('async fail');
      });
      accounts.get('/:id/ok', async (_req, res) => {
        await new Promise((r) => setTimeout(r, 5));
        res.json({});
      });
      accounts.get('/:id/next404', (_req, _res, next) => next());
      accounts.get('/:id/skip', (_req, _res, next) => next('route'));
      accounts.get('/:id/skip', (_req, res) => {
        res.json({ second: true });
      });
      const v2 = express.Router();
      v2.use('/accounts', accounts);
      app.use('/v2', v2);
      app.use(mw.errorHandler);
      app.use((_e: unknown, _q: express.Request, res: express.Response, _n: express.NextFunction) => {
        res.status(502).json({ handled: true });
      });
      for (const p of ['history', 'async', 'ok', 'next404', 'skip'])
        await request(app).get(`/v2/accounts/1/${p}`);
      await mw.auditor.flush();
      const got = (await t.ledger.getEntries()).map((e) => [e.data!.path, e.data!.route, e.data!.status]);
      expect(got).toEqual([
        ['/v2/accounts/1/history', '/v2/accounts/:id/history', 502],
        ['/v2/accounts/1/async', '/v2/accounts/:id/async', 502],
        ['/v2/accounts/1/ok', '/v2/accounts/:id/ok', 200],
        ['/v2/accounts/1/next404', null, 404],
        ['/v2/accounts/1/skip', '/v2/accounts/:id/skip', 200],
      ]);
    } finally {
      await t.cleanup();
    }
  });
});
