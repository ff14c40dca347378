/** Express `await: true` must not change what the app sees or answers. */
import type { Server } from 'node:http';
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { auditMiddleware } from '../../src/integrations/express/index.js';
import { sqliteLedger } from './helpers.js';

async function run(mode: 'none' | 'queued' | 'await') {
  const t = await sqliteLedger();
  const app = express();
  const audit =
    mode === 'none' ? null : auditMiddleware(t.ledger, { await: mode === 'await', onError: () => {} });
  if (audit) app.use(audit);
  const seen: Record<string, unknown> = {};
  app.get('/send-then-throw', (_req, res) => {
    res.json({ ok: 1 });
    throw new Error('after send');
  });
  app.get('/guard', (_req, res) => {
    res.json({ ok: 1 });
    seen.headersSent = res.headersSent;
    seen.writableEnded = res.writableEnded;
    if (!res.headersSent) res.status(409).json({ dup: true });
  });
  app.get('/double', (_req, res) => {
    res.json({ first: true });
    try {
      res.status(409).json({ second: true });
    } catch (err) {
      seen.doubleSend = (err as { code?: string }).code;
    }
  });
  if (audit) app.use(audit.errorHandler);
  app.use((err: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (res.headersSent) return next(err);
    res.status(500).json({ error: 'handled' });
  });
  const server = await new Promise<Server>((r) => {
    const s = app.listen(0, '127.0.0.1', () => r(s));
  });
  try {
    const agent = request(server);
    const out: unknown[] = [];
    for (const p of ['/send-then-throw', '/guard', '/double']) {
      const r = await agent.get(p);
      out.push([p, r.status, r.body]);
      // With `await`, the entry is written before the client has the response (no flush).
      if (mode === 'await') seen[`entriesAt${p}`] = (await t.ledger.getEntries()).length;
    }
    let entries: unknown[] = [];
    if (audit) {
      await audit.auditor.flush();
      entries = (await t.ledger.getEntries()).map((e) => [e.data!.path, e.data!.status, e.data!.error]);
    }
    return { out, seen, entries };
  } finally {
    await new Promise((r) => server.close(r));
    await audit?.auditor.close();
    await t.cleanup();
  }
}

describe('express: await: true behaves exactly as without the middleware', () => {
  it('send-then-throw answers 200, headersSent/writableEnded are true after res.json(), a second send throws', async () => {
    const none = await run('none');
    expect(none.out).toEqual([
      ['/send-then-throw', 200, { ok: 1 }],
      ['/guard', 200, { ok: 1 }],
      ['/double', 200, { first: true }],
    ]);
    expect(none.seen).toEqual({
      headersSent: true,
      writableEnded: true,
      doubleSend: 'ERR_HTTP_HEADERS_SENT',
    });
    const queued = await run('queued');
    const awaited = await run('await');
    for (const r of [queued, awaited]) {
      expect(r.out).toEqual(none.out);
      expect(r.seen).toMatchObject(none.seen);
    }
    expect(queued.seen).toEqual(none.seen);
    expect(awaited.seen).toMatchObject({
      'entriesAt/send-then-throw': 1,
      'entriesAt/guard': 2,
      'entriesAt/double': 3,
    });
    // Both modes record the same entries (the error thrown after sending included).
    expect(awaited.entries).toEqual(queued.entries);
    expect(awaited.entries[0]).toEqual(['/send-then-throw', 200, { name: 'Error', message: 'after send' }]);
  });
});
