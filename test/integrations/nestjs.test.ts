import 'reflect-metadata';
import type { Server } from 'node:http';
import {
  Body,
  Controller,
  Get,
  HttpException,
  type INestApplication,
  Inject,
  Injectable,
  Module,
  Param,
  Post,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import {
  Audited,
  InjectAuditor,
  InjectLedger,
  SIGNLEDGER_LEDGER,
  SignLedgerModule,
  type SignLedgerModuleOptions,
} from '../../src/integrations/nestjs/index.js';
import type { Auditor } from '../../src/integrations/shared/auditor.js';
import type { Ledger } from '../../src/ledger/ledger.js';
import { sqliteLedger } from './helpers.js';
import { type AppSpec, describeHttpIntegration, FAIL_MESSAGE, type HttpHarness } from './http-suite.js';

/**
 * Decorators applied as plain calls: vitest (like tsx and esbuild) compiles without
 * `experimentalDecorators`, and the module must work without emitted metadata anyway.
 */
function decorateMethod(cls: { prototype: object }, name: string, ...decorators: MethodDecorator[]) {
  const proto = cls.prototype as Record<string, unknown>;
  for (const d of decorators) d(proto, name, Object.getOwnPropertyDescriptor(proto, name)!);
}

class TransferService {
  constructor(readonly ledger: Ledger) {}
  async balance(): Promise<number> {
    return (await this.ledger.getStats()).totalEntries;
  }
}
Injectable()(TransferService);
InjectLedger()(TransferService, undefined as unknown as string, 0);

class BankController {
  constructor(
    readonly service: TransferService,
    readonly auditor: Auditor,
  ) {}
  transfer(body: Record<string, unknown>) {
    return { ok: true, amount: body.amount, token: 'server-issued-t0k3n-value' };
  }
  account(id: string) {
    return { id };
  }
  fail() {
    throw new Error('boom');
  }
  forbidden() {
    throw new HttpException('no', 403);
  }
  plain() {
    return { plain: true };
  }
}
decorateMethod(
  BankController,
  'transfer',
  Post('transfer'),
  Audited('transfer', { body: ['amount', 'password'], result: true }),
);
Body()(BankController.prototype, 'transfer', 0);
decorateMethod(BankController, 'account', Get('accounts/:id'), Audited('read_account'));
Param('id')(BankController.prototype, 'account', 0);
decorateMethod(BankController, 'fail', Get('fail'), Audited('fail'));
decorateMethod(BankController, 'forbidden', Get('forbidden'), Audited('forbidden'));
decorateMethod(BankController, 'plain', Get('plain'));
Inject(TransferService)(BankController, undefined as unknown as string, 0);
InjectAuditor()(BankController, undefined as unknown as string, 1);
Controller('api')(BankController);

/** The shared suite's app: plain handlers, audited through `auditAll`. */
class SuiteController {
  constructor(readonly auditor: Auditor) {}
  transfer() {
    return { ok: true };
  }
  account(id: string) {
    return { id };
  }
  fail() {
    throw new Error(FAIL_MESSAGE);
  }
}
decorateMethod(SuiteController, 'transfer', Post('transfer'));
decorateMethod(SuiteController, 'account', Get('accounts/:id'));
Param('id')(SuiteController.prototype, 'account', 0);
decorateMethod(SuiteController, 'fail', Get('fail'));
InjectAuditor()(SuiteController, undefined as unknown as string, 0);
Controller('api')(SuiteController);

async function startNest(
  options: SignLedgerModuleOptions,
  controller: new (...a: never[]) => { auditor: Auditor } = BankController,
): Promise<{ app: INestApplication; server: Server; auditor: Auditor }> {
  class AppModule {}
  Module({
    imports: [SignLedgerModule.forRoot(options)],
    controllers: [controller],
    providers: [TransferService],
  })(AppModule);
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, server: app.getHttpServer() as Server, auditor: app.get(controller).auditor };
}

function harness(app: INestApplication, server: Server, auditor: Auditor): HttpHarness {
  const agent = request(server);
  return {
    auditor,
    async request(method, path, opts = {}) {
      let r = method === 'GET' ? agent.get(path) : agent.post(path);
      for (const [k, v] of Object.entries(opts.headers ?? {})) r = r.set(k, v);
      const res = opts.body === undefined ? await r : await r.send(opts.body as object);
      return { status: res.status, body: res.body };
    },
    async close() {
      await app.close();
    },
  };
}

/** The shared suite, with every handler audited (`auditAll`) and the audit controller at /audit. */
describeHttpIntegration({
  name: 'nestjs',
  hasClientAddress: true,
  async create(ledger, spec: AppSpec): Promise<HttpHarness> {
    const { app, server, auditor } = await startNest(
      {
        ledger,
        audit: {
          ...spec.audit,
          auditAll: true,
          event: 'http_request',
          actor: (req) => req.headers['x-user'],
        },
        routesPath: 'audit',
        routes: spec.authorize === 'role' ? { authorize: (req) => req.headers['x-role'] === 'auditor' } : {},
      },
      SuiteController,
    );
    return harness(app, server, auditor);
  },
});

describe('nestjs: SignLedgerModule', () => {
  it('forRoot({ url }) opens the ledger, injects it by token, audits @Audited handlers only, closes on shutdown', async () => {
    const t = await sqliteLedger();
    await t.ledger.close();
    const { app, server, auditor } = await startNest({
      url: `sqlite:${t.path}`,
      autoVerify: { intervalMs: 60_000 },
      audit: { actor: (req) => req.headers['x-user'], onError: () => {} },
    });
    const ledger = app.get<Ledger>(SIGNLEDGER_LEDGER);
    expect(app.get(TransferService).ledger).toBe(ledger);
    const h = harness(app, server, auditor);
    const r = await h.request('POST', '/api/transfer', {
      headers: { 'x-user': 'alice', authorization: 'Bearer nest-s3cr3t' },
      body: { amount: 250, password: 'nest-p4ss', to: 'ACC9' },
    });
    expect(r.status).toBe(201);
    expect((await h.request('GET', '/api/plain')).status).toBe(200);
    expect((await h.request('GET', '/api/forbidden')).status).toBe(403);
    expect((await h.request('GET', '/api/fail')).status).toBe(500);
    await h.auditor.flush();
    const entries = await ledger.getEntries();
    expect(entries.map((e) => e.data?.action)).toEqual(['transfer', 'forbidden', 'fail']);
    expect(entries[0]!.data).toMatchObject({
      event: 'audited_action',
      action: 'transfer',
      handler: 'BankController.transfer',
      outcome: 'success',
      method: 'POST',
      route: '/api/transfer',
      status: 201,
      actor: 'alice',
      body: { amount: 250, password: '[REDACTED]' },
      result: { ok: true, amount: 250, token: '[REDACTED]' },
    });
    expect(entries[1]!.data).toMatchObject({ outcome: 'error', status: 403 });
    expect(entries[2]!.data).toMatchObject({ outcome: 'error', status: 500, error: { message: 'boom' } });
    const text = JSON.stringify(entries);
    for (const s of ['nest-s3cr3t', 'nest-p4ss', 'server-issued-t0k3n-value']) expect(text).not.toContain(s);
    await app.close();
    await expect(ledger.getStats()).rejects.toMatchObject({ code: 'CLOSED' });
    await t.cleanup();
  });

  it('reads of the audit controller are recorded without auditAll (allowed and refused)', async () => {
    const t = await sqliteLedger();
    const { app, server, auditor } = await startNest({
      ledger: t.ledger,
      routesPath: 'audit',
      routes: { authorize: (req) => req.headers['x-role'] === 'auditor' },
      audit: { actor: (req) => req.headers['x-user'], onError: () => {} },
    });
    try {
      const h = harness(app, server, auditor);
      expect(
        (await h.request('GET', '/audit/verify', { headers: { 'x-role': 'auditor', 'x-user': 'ann' } }))
          .status,
      ).toBe(200);
      expect((await h.request('GET', '/audit/entries', { headers: { 'x-user': 'mallory' } })).status).toBe(
        403,
      );
      await h.auditor.flush();
      const reads = (await t.ledger.getEntries())
        .map((e) => e.data!)
        .filter((d) => d.action === 'audit_read');
      expect(reads.map((d) => [d.handler, d.actor, d.status, d.outcome])).toEqual([
        ['SignLedgerAuditController.verify', 'ann', 200, 'success'],
        ['SignLedgerAuditController.entries', 'mallory', 403, 'error'],
      ]);
    } finally {
      await app.close();
      await t.cleanup();
    }
  });

  it('forRootAsync takes its options from a factory with injected dependencies', async () => {
    const t = await sqliteLedger();
    class ConfigModule {}
    Module({ providers: [{ provide: 'AUDIT_DB', useValue: t.ledger }], exports: ['AUDIT_DB'] })(ConfigModule);
    class AppModule {}
    Module({
      imports: [
        SignLedgerModule.forRootAsync({
          imports: [ConfigModule],
          inject: ['AUDIT_DB'],
          useFactory: async (ledger: Ledger) => ({
            ledger,
            routes: { authorize: () => true },
            audit: { await: true },
          }),
          routesPath: 'compliance/audit',
        }),
      ],
      controllers: [BankController],
      providers: [TransferService],
    })(AppModule);
    const app = await NestFactory.create(AppModule, { logger: false });
    await app.init();
    const server = app.getHttpServer();
    expect(app.get(SIGNLEDGER_LEDGER)).toBe(t.ledger);
    const res = await request(server).get('/api/accounts/3');
    expect(res.status).toBe(200);
    // await: true, so the entry is there without a flush.
    expect((await t.ledger.getStats()).totalEntries).toBe(1);
    const v = await request(server).get('/compliance/audit/verify');
    expect(v.body).toMatchObject({ valid: true, totalEntries: 1 });
    await app.close();
    // A ledger passed in is the caller's: not closed. The read of /verify is recorded too.
    expect((await t.ledger.getStats()).totalEntries).toBe(2);
    await t.cleanup();
  });
});
