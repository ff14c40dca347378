/**
 * Auditing must never hold or change the audited work: awaited appends time out, in-flight appends
 * are capped, Hono never reads an unread body, audit exceptions never fail a handler or a job, and
 * error messages are scrubbed.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { Controller, Get, type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type Job, Queue, QueueEvents } from 'bullmq';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import { of } from 'rxjs';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { auditedWorker, auditQueue } from '../../src/integrations/bullmq/index.js';
import { auditMiddleware as expressAudit } from '../../src/integrations/express/index.js';
import { signledgerPlugin } from '../../src/integrations/fastify/index.js';
import { auditMiddleware as honoAudit } from '../../src/integrations/hono/index.js';
import { auditMiddleware as koaAudit } from '../../src/integrations/koa/index.js';
import {
  Audited,
  SignLedgerModule,
  type SignLedgerModuleOptions,
} from '../../src/integrations/nestjs/index.js';
import { type AuditFailureInfo, Auditor } from '../../src/integrations/shared/auditor.js';
import { redisUrl } from '../servers.js';
import { sqliteLedger, type TestLedger, until } from './helpers.js';

const TIMEOUT = 150;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
});

async function ledger(): Promise<TestLedger> {
  const t = await sqliteLedger();
  cleanups.push(() => t.cleanup());
  return t;
}

async function entries(t: TestLedger): Promise<Record<string, unknown>[]> {
  return (await t.ledger.getEntries()).map((e) => e.data as Record<string, unknown>);
}

/** A `throw` hidden in an enumerable getter; JSON serialization (toJSON) does not touch it. */
function poisoned(): Record<string, unknown> {
  const o = { ok: true, toJSON: () => ({ ok: true }) };
  Object.defineProperty(o, 'boom', {
    enumerable: true,
    get() {
      throw new Error('getter exploded');
    },
  });
  return o;
}

describe('auditor: awaited appends time out, in-flight appends are capped', () => {
  it('an awaited append that hangs resolves after awaitTimeoutMs, is reported, and is written later', async () => {
    const t = await ledger();
    const infos: AuditFailureInfo[] = [];
    const a = new Auditor(t.ledger, {
      await: true,
      awaitTimeoutMs: TIMEOUT,
      onError: (_e, i) => infos.push(i),
    });
    t.flaky.hold = true;
    const t0 = performance.now();
    await a.commit({ n: 1 });
    expect(performance.now() - t0).toBeLessThan(TIMEOUT + 1_000);
    expect(a.timedOut).toBe(1);
    expect(infos.map((i) => i.reason)).toEqual(['timeout']);
    expect(a.pending).toBe(1);
    t.flaky.release();
    await a.flush();
    expect(a.stats()).toMatchObject({ written: 1, pending: 0, timedOut: 1 });
    expect(await entries(t)).toEqual([{ n: 1 }]);
  });

  it('beyond maxInFlight, entries go to the retry queue (counted, reported) and are written in order later', async () => {
    const t = await ledger();
    const infos: AuditFailureInfo[] = [];
    const a = new Auditor(t.ledger, {
      maxInFlight: 2,
      retryIntervalMs: 20,
      onError: (_e, i) => infos.push(i),
    });
    t.flaky.hold = true;
    for (let n = 0; n < 5; n++) void a.record({ n });
    expect(a.stats()).toMatchObject({ deferred: 3, queued: 3, pending: 5, dropped: 0 });
    expect(infos.map((i) => [i.reason, i.data.n])).toEqual([
      ['overloaded', 2],
      ['overloaded', 3],
      ['overloaded', 4],
    ]);
    t.flaky.release();
    await until(() => a.pending === 0, 'the queue to drain');
    expect((await entries(t)).map((d) => d.n).sort()).toEqual([0, 1, 2, 3, 4]);
    await a.close();
  });

  it('when the queue is full too, an entry over the cap is dropped and counted', async () => {
    const t = await ledger();
    const infos: AuditFailureInfo[] = [];
    const a = new Auditor(t.ledger, { maxInFlight: 1, maxQueue: 1, onError: (_e, i) => infos.push(i) });
    t.flaky.hold = true;
    for (let n = 0; n < 3; n++) void a.record({ n });
    expect(a.stats()).toMatchObject({ deferred: 1, dropped: 1, pending: 2 });
    expect(infos.map((i) => i.reason)).toEqual(['overloaded', 'queue_full']);
    t.flaky.release();
    await a.close();
  });

  it('close() on a stalled ledger returns after closeTimeoutMs with what it could not write', async () => {
    const t = await ledger();
    const a = new Auditor(t.ledger, { closeTimeoutMs: TIMEOUT, onError: () => {} });
    t.flaky.hold = true;
    void a.record({ n: 1 });
    void a.record({ n: 2 });
    const t0 = performance.now();
    const r = await a.close();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(TIMEOUT - 5);
    expect(performance.now() - t0).toBeLessThan(TIMEOUT + 1_000);
    expect(r).toEqual({ remaining: 2, timedOut: true });
    // The held appends were not cancelled: released, they still reach the ledger.
    t.flaky.release();
    await until(() => a.written === 2);
    expect(await entries(t)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('flush() waits without a limit unless given one, and says whether it finished', async () => {
    const t = await ledger();
    const a = new Auditor(t.ledger, { onError: () => {} });
    t.flaky.hold = true;
    void a.record({ n: 1 });
    expect(await a.flush({ timeoutMs: TIMEOUT })).toEqual({ remaining: 1, timedOut: true });
    const all = a.flush();
    t.flaky.release();
    expect(await all).toEqual({ remaining: 0, timedOut: false });
    expect(await a.close()).toEqual({ remaining: 0, timedOut: false });
    expect(await entries(t)).toEqual([{ n: 1 }]);
  });

  it('rejects nonsensical limits', async () => {
    const t = await ledger();
    expect(() => new Auditor(t.ledger, { awaitTimeoutMs: 0 })).toThrow(RangeError);
    expect(() => new Auditor(t.ledger, { maxInFlight: -1 })).toThrow(RangeError);
    expect(() => new Auditor(t.ledger, { closeTimeoutMs: Number.NaN })).toThrow(RangeError);
    await expect(new Auditor(t.ledger).flush({ timeoutMs: -1 })).rejects.toThrow(RangeError);
  });
});

describe('await: true never holds a request longer than awaitTimeoutMs', () => {
  const audit = (infos: AuditFailureInfo[]) => ({
    await: true,
    awaitTimeoutMs: TIMEOUT,
    onError: (_e: unknown, i: AuditFailureInfo) => infos.push(i),
  });

  async function check(
    t: TestLedger,
    auditor: Auditor,
    infos: AuditFailureInfo[],
    send: () => Promise<number>,
  ) {
    t.flaky.hold = true;
    const t0 = performance.now();
    expect(await send()).toBe(200);
    expect(performance.now() - t0).toBeLessThan(TIMEOUT + 2_000);
    expect(auditor.timedOut).toBe(1);
    expect(infos.some((i) => i.reason === 'timeout')).toBe(true);
    t.flaky.release();
    await auditor.flush();
    expect(await entries(t)).toHaveLength(1);
  }

  it('express', async () => {
    const t = await ledger();
    const infos: AuditFailureInfo[] = [];
    const app = express();
    const mw = expressAudit(t.ledger, audit(infos));
    app.use(mw);
    app.get('/x', (_req, res) => {
      res.json({ ok: true });
    });
    await check(t, mw.auditor, infos, async () => (await request(app).get('/x')).status);
  });

  it('fastify', async () => {
    const t = await ledger();
    const infos: AuditFailureInfo[] = [];
    const app = Fastify({ logger: false });
    await app.register(signledgerPlugin, { ledger: t.ledger, audit: audit(infos), routes: false });
    app.get('/x', async () => ({ ok: true }));
    await app.ready();
    cleanups.push(() => app.close());
    await check(t, app.signledgerAuditor!, infos, async () => (await app.inject({ url: '/x' })).statusCode);
  });

  it('koa', async () => {
    const t = await ledger();
    const infos: AuditFailureInfo[] = [];
    const app = new Koa();
    const mw = koaAudit(t.ledger, audit(infos));
    app.use(mw);
    app.use((ctx) => {
      ctx.body = { ok: true };
    });
    await check(t, mw.auditor, infos, async () => (await request(app.callback()).get('/x')).status);
  });

  it('hono, including an actor() hook that never answers', async () => {
    const t = await ledger();
    const infos: AuditFailureInfo[] = [];
    const app = new Hono();
    const mw = honoAudit(t.ledger, { ...audit(infos), actor: () => new Promise<string>(() => {}) });
    app.use(mw);
    app.get('/x', (c) => c.json({ ok: true }));
    await check(t, mw.auditor, infos, async () => (await app.request('/x')).status);
    expect((await entries(t))[0]).toMatchObject({ actor: null, status: 200 });
  });

  it('nestjs', async () => {
    const t = await ledger();
    const infos: AuditFailureInfo[] = [];
    const { app, auditor } = await startNest({ ledger: t.ledger, audit: audit(infos) });
    await check(
      t,
      auditor,
      infos,
      async () => (await request(app.getHttpServer() as Server).get('/api/ok')).status,
    );
  });
});

describe('hono: the body is recorded only when the handler read it', () => {
  it('never reads an unread request body, records a parsed one, and notes a too-large one', async () => {
    const t = await ledger();
    const app = new Hono();
    const mw = honoAudit(t.ledger, { body: true, maxBodyBytes: 64 });
    app.use(mw);
    app.post('/ignore', (c) => c.json({ ok: true }));
    app.post('/read', async (c) => c.json(await c.req.json()));
    app.post('/form', async (c) => c.json(await c.req.parseBody()));
    const unread = new Request('http://x/ignore', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1 }),
    });
    expect((await app.request(unread)).status).toBe(200);
    expect(unread.bodyUsed).toBe(false);
    const json = { 'content-type': 'application/json' };
    await app.request('/read', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ a: 2, password: 'p' }),
    });
    await app.request('/read', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ big: 'x'.repeat(200) }),
    });
    await app.request('/form', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'user=a&password=hunter2',
    });
    await mw.auditor.flush();
    const bodies = (await entries(t)).map((d) => [d.path, d.body]);
    expect(bodies).toEqual([
      ['/ignore', undefined],
      ['/read', { a: 2, password: '[REDACTED]' }],
      ['/read', { omitted: 'too_large', bytes: expect.any(Number) }],
      ['/form', { user: 'a', password: '[REDACTED]' }],
    ]);
  });
});

class HardController {
  ok() {
    return { ok: true };
  }
  poisoned() {
    return poisoned();
  }
  stream() {
    return of({ n: 1 }, { n: 2 }, { n: 3 });
  }
}
{
  const proto = HardController.prototype as unknown as Record<string, unknown>;
  const decorate = (name: string, ...ds: MethodDecorator[]) => {
    for (const d of ds) d(proto, name, Object.getOwnPropertyDescriptor(proto, name)!);
  };
  decorate('ok', Get('ok'), Audited('ok'));
  decorate('poisoned', Get('poisoned'), Audited('poisoned', { result: true }));
  decorate('stream', Get('stream'), Audited('stream', { result: true }));
  Controller('api')(HardController);
}

async function startNest(
  options: SignLedgerModuleOptions,
): Promise<{ app: INestApplication; auditor: Auditor }> {
  class AppModule {}
  Module({ imports: [SignLedgerModule.forRoot(options)], controllers: [HardController] })(AppModule);
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.init();
  cleanups.push(() => app.close());
  return { app, auditor: app.get('SIGNLEDGER_AUDITOR') as Auditor };
}

describe('nestjs: audit code never changes the handler outcome', () => {
  it('an exception while building the entry is not the handler’s 500; a stream is recorded once', async () => {
    const t = await ledger();
    const { app, auditor } = await startNest({ ledger: t.ledger, audit: {} });
    const server = app.getHttpServer() as Server;
    const res = await request(server).get('/api/poisoned');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
    const s = await request(server).get('/api/stream');
    expect(s.status).toBe(200);
    await auditor.flush();
    const data = await entries(t);
    expect(data).toHaveLength(2);
    expect(data[0]).toMatchObject({ action: 'poisoned', status: 200, buildError: { name: 'Error' } });
    expect(data[1]).toMatchObject({ action: 'stream', outcome: 'success', result: { n: 1 } });
  });
});

describe('error messages are scrubbed, or left out with errorMessages: false', () => {
  it('koa: records the name only when asked', async () => {
    const t = await ledger();
    const app = new Koa();
    app.silent = true;
    const mw = koaAudit(t.ledger, { errorMessages: false });
    app.use(mw);
    app.use(() => {
      throw new TypeError('password=S3CRET-3');
    });
    expect((await request(app.callback()).get('/x')).status).toBe(500);
    await mw.auditor.flush();
    expect((await entries(t))[0]).toMatchObject({ status: 500, error: { name: 'TypeError' } });
    expect((await entries(t))[0]!.error).toEqual({ name: 'TypeError' });
    expect(t.rawStorage()).not.toContain('S3CRET');
  });

  it('fastify: records the error name and a message without the secrets in it', async () => {
    const t = await ledger();
    const app = Fastify({ logger: false });
    await app.register(signledgerPlugin, { ledger: t.ledger, routes: false });
    app.get('/fail', async () => {
      throw new Error('upstream https://api.example/v1?api_key=ak-S3CRET-1 failed; password=S3CRET-2');
    });
    await app.ready();
    cleanups.push(() => app.close());
    expect((await app.inject({ url: '/fail' })).statusCode).toBe(500);
    await app.signledgerAuditor!.flush();
    const [d] = await entries(t);
    expect(d!.error).toEqual({
      name: 'Error',
      message: 'upstream https://api.example/v1?api_key=[REDACTED] failed; password=[REDACTED]',
    });
    expect(t.rawStorage()).not.toContain('S3CRET');
  });
});

const REDIS = redisUrl('hardening.test.ts');
function connection() {
  const u = new URL(REDIS!);
  return { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
}

describe.skipIf(!REDIS)('bullmq: audit code never changes the job outcome', () => {
  it('a throw while recording the result does not fail a successful job; add() resolves after enqueueing', async () => {
    const t = await ledger();
    const name = `signledger-hard-${randomUUID()}`;
    const queue = new Queue(name, { connection: connection() });
    cleanups.push(async () => {
      await queue.obliterate({ force: true });
      await queue.close();
    });
    const produced = auditQueue(queue, { ledger: t.ledger, data: true });
    const worker = auditedWorker(name, async (_job: Job) => poisoned(), {
      ledger: t.ledger,
      connection: connection(),
      audit: { errorMessages: false },
    });
    cleanups.push(() => worker.close());
    const events = new QueueEvents(name, { connection: connection() });
    cleanups.push(() => events.close());
    await events.waitUntilReady();
    const completed: string[] = [];
    const failed: string[] = [];
    worker.on('completed', (job) => completed.push(job.id!));
    worker.on('failed', (job) => failed.push(job?.id ?? '?'));
    const job = await produced.add('poison', poisoned());
    expect(job.id).toBeTruthy();
    await until(() => completed.length + failed.length === 1, 'the job to settle');
    expect(completed).toEqual([job.id]);
    expect(failed).toEqual([]);
    await worker.close();
    await produced.auditor.flush();
    const data = await entries(t);
    const by = (ev: string) => data.filter((d) => d.event === ev);
    expect(by('job_enqueued')[0]).toMatchObject({ jobId: job.id, buildError: { name: 'Error' } });
    expect(by('job_completed')[0]).toMatchObject({ jobId: job.id, buildError: { name: 'Error' } });
    expect(by('job_failed')).toEqual([]);
  });

  it('records a failed job’s error message scrubbed', async () => {
    const t = await ledger();
    const name = `signledger-hard-${randomUUID()}`;
    const queue = new Queue(name, { connection: connection() });
    cleanups.push(async () => {
      await queue.obliterate({ force: true });
      await queue.close();
    });
    const worker = auditedWorker(
      name,
      async () => {
        throw new Error('charge failed: token=tok-S3CRET for card');
      },
      { ledger: t.ledger, connection: connection() },
    );
    cleanups.push(() => worker.close());
    let settled = 0;
    worker.on('failed', () => settled++);
    await queue.add('x', {});
    await until(() => settled === 1, 'the job to fail');
    await worker.close();
    const [failedEntry] = (await entries(t)).filter((d) => d.event === 'job_failed');
    expect(failedEntry!.error).toEqual({
      name: 'Error',
      message: 'charge failed: token=[REDACTED] for card',
    });
    expect(t.rawStorage()).not.toContain('tok-S3CRET');
  });
});
