import type { Server } from 'node:http';
import Koa from 'koa';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { auditMiddleware, auditRoutes } from '../../src/integrations/koa/index.js';
import { sqliteLedger } from './helpers.js';
import { describeHttpIntegration, FAIL_MESSAGE, type HttpHarness } from './http-suite.js';

/** Koa ships no body parser or router: a tiny JSON parser and a matcher keep the test self-contained. */
async function jsonBody(ctx: Koa.Context, next: Koa.Next) {
  if ((ctx.get('content-type') ?? '').includes('json')) {
    const chunks: Buffer[] = [];
    for await (const c of ctx.req) chunks.push(c as Buffer);
    (ctx.request as { body?: unknown }).body = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
  }
  await next();
}

describeHttpIntegration({
  name: 'koa',
  hasClientAddress: true,
  async create(ledger, spec): Promise<HttpHarness> {
    const app = new Koa();
    app.silent = true;
    app.use(jsonBody);
    // The route pattern comes from the app's router; here, a route option (as @koa/router users would not need).
    const mw = auditMiddleware(ledger, {
      ...spec.audit,
      actor: (ctx) => ctx.get('x-user') || null,
      route: (ctx) => (ctx.state as { route?: string }).route,
    });
    app.use(mw);
    app.use(
      auditRoutes(
        ledger,
        spec.authorize === 'role' ? { authorize: (ctx) => ctx.get('x-role') === 'auditor' } : {},
      ),
    );
    app.use(async (ctx) => {
      if (ctx.method === 'POST' && ctx.path === '/api/transfer') {
        ctx.state.route = '/api/transfer';
        ctx.status = 201;
        ctx.body = { ok: true };
        return;
      }
      const m = /^\/api\/accounts\/([^/]+)$/.exec(ctx.path);
      if (ctx.method === 'GET' && m) {
        ctx.state.route = '/api/accounts/:id';
        ctx.body = { id: m[1] };
        return;
      }
      if (ctx.path === '/api/fail') {
        ctx.state.route = '/api/fail';
        throw new Error(FAIL_MESSAGE);
      }
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
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

describe('koa: specifics', () => {
  it('records thrown HTTP errors with their status and re-throws them', async () => {
    const t = await sqliteLedger();
    try {
      const app = new Koa();
      app.silent = true;
      const mw = auditMiddleware(t.ledger);
      app.use(mw);
      app.use((ctx) => ctx.throw(418, 'teapot'));
      const res = await request(app.callback()).get('/brew');
      expect(res.status).toBe(418);
      await mw.auditor.flush();
      const [e] = await t.ledger.getEntries();
      expect(e!.data).toMatchObject({ status: 418, path: '/brew', error: { message: 'teapot' } });
      expect(e!.data!.route).toBeNull();
    } finally {
      await t.cleanup();
    }
  });
});
