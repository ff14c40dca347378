import type { Server } from 'node:http';
import express from 'express';
import { Hono } from 'hono';
import Koa from 'koa';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { auditMiddleware as expressAudit } from '../../src/integrations/express/index.js';
import { auditMiddleware as honoAudit } from '../../src/integrations/hono/index.js';
import { auditMiddleware as koaAudit } from '../../src/integrations/koa/index.js';
import { errorSummary } from '../../src/integrations/shared/request-audit.js';
import { sqliteLedger } from './helpers.js';

// JSON.parse quotes the input in its message; the cut (`"assword": s3cr3tPW}`) hides the field name
// from the scrubber, so these errors must be recorded with a fixed message, never the body text.
const BAD_JSON = '{"user": "ann", "password": s3cr3tPW}';
const SECRET = 's3cr3tPW';

describe('malformed request bodies are recorded without the body text (default options)', () => {
  it('express: body-parser SyntaxError → "malformed request body"', async () => {
    const t = await sqliteLedger();
    const app = express();
    const mw = expressAudit(t.ledger, { onError: () => {} });
    app.use(mw);
    app.use(express.json());
    app.post('/login', (_req, res) => {
      res.json({ ok: true });
    });
    app.use(mw.errorHandler);
    app.use((_e: unknown, _q: express.Request, res: express.Response, _n: express.NextFunction) => {
      res.status(400).json({ error: 'bad' });
    });
    const server = await new Promise<Server>((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    try {
      const res = await request(server).post('/login').set('content-type', 'application/json').send(BAD_JSON);
      expect(res.status).toBe(400);
      await mw.auditor.flush();
      const [e] = await t.ledger.getEntries();
      expect(e!.data!.error).toEqual({ name: 'SyntaxError', message: 'malformed request body' });
      await t.ledger.close();
      expect(t.rawStorage()).not.toContain(SECRET);
      expect(t.rawStorage()).not.toContain('ssword');
    } finally {
      await new Promise((r) => server.close(r));
      await mw.auditor.close();
      await t.cleanup();
    }
  });

  it('koa: a bodyparser (co-body) error carrying the body → "malformed request body"', async () => {
    const t = await sqliteLedger();
    try {
      const app = new Koa();
      app.silent = true;
      const mw = koaAudit(t.ledger);
      app.use(mw);
      // What koa-bodyparser / @koa/bodyparser (co-body) throw on a bad JSON body.
      app.use(() => {
        let err: Error;
        try {
          JSON.parse(BAD_JSON);
          throw new Error('unreachable');
        } catch (e) {
          err = e as Error;
        }
        throw Object.assign(err, { status: 400, body: BAD_JSON });
      });
      expect((await request(app.callback()).post('/login').send({})).status).toBe(400);
      await mw.auditor.flush();
      const [e] = await t.ledger.getEntries();
      expect(e!.data!.error).toEqual({ name: 'SyntaxError', message: 'malformed request body' });
      expect(JSON.stringify(e!.data)).not.toContain(SECRET);
    } finally {
      await t.cleanup();
    }
  });

  it('hono: c.req.json() in a handler → "malformed JSON"', async () => {
    const t = await sqliteLedger();
    try {
      const app = new Hono();
      const mw = honoAudit(t.ledger);
      app.use(mw);
      app.post('/login', async (c) => c.json(await c.req.json()));
      app.onError((_e, c) => c.json({ error: 'bad' }, 400));
      const res = await app.request('/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: BAD_JSON,
      });
      expect(res.status).toBe(400);
      await mw.auditor.flush();
      const [e] = await t.ledger.getEntries();
      expect(e!.data!.error).toEqual({ name: 'SyntaxError', message: 'malformed JSON' });
      expect(JSON.stringify(e!.data)).not.toContain(SECRET);
    } finally {
      await t.cleanup();
    }
  });

  it('errorSummary: entity.parse.failed, errors carrying a body and JSON.parse errors', () => {
    const bp = Object.assign(
      new SyntaxError(`Unexpected token 's', ..."assword": ${SECRET}}" is not valid JSON`),
      {
        type: 'entity.parse.failed',
      },
    );
    expect(errorSummary(bp)).toEqual({ name: 'SyntaxError', message: 'malformed request body' });
    expect(errorSummary(Object.assign(new Error(`bad ${SECRET}`), { body: BAD_JSON }))).toEqual({
      name: 'Error',
      message: 'malformed request body',
    });
    let parseErr: unknown;
    try {
      JSON.parse(BAD_JSON);
    } catch (e) {
      parseErr = e;
    }
    expect(errorSummary(parseErr)).toEqual({ name: 'SyntaxError', message: 'malformed JSON' });
    expect(errorSummary(bp, undefined, false)).toEqual({ name: 'SyntaxError' });
    // Other errors keep their (scrubbed) message.
    expect(errorSummary(new SyntaxError('amount: token=abc123'))).toEqual({
      name: 'SyntaxError',
      message: 'amount: token=[REDACTED]',
    });
  });
});
