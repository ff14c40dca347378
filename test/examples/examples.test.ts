/**
 * Every example runs here: through its exported main() (or app factory) with output silenced, and
 * the quickstart once as the README runs it (`npx tsx examples/quickstart.ts`).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import * as bullmqOrders from '../../examples/bullmq-orders.js';
import * as databaseChanges from '../../examples/database-changes.js';
import * as deploymentAudit from '../../examples/deployment-audit.js';
import * as expressBanking from '../../examples/express-banking.js';
import * as fastifyTransactions from '../../examples/fastify-transactions.js';
import * as financialSox from '../../examples/financial-sox.js';
import * as healthcare from '../../examples/healthcare-hipaa.js';
import * as quickstart from '../../examples/quickstart.js';
import * as supplyChain from '../../examples/supply-chain.js';
import { SQLiteBackend } from '../../src/backends/sqlite/index.js';
import { Ledger } from '../../src/index.js';
import { postgresUrl, redisUrl } from '../servers.js';

const dir = mkdtempSync(join(tmpdir(), 'signledger-examples-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const quiet = () => {};
const PG = postgresUrl('examples.test.ts');
const REDIS = redisUrl('examples.test.ts');

describe('examples', () => {
  it('quickstart: five activities, alice has three, valid, stats', async () => {
    const lines: string[] = [];
    const r = await quickstart.main({ path: join(dir, 'quick.db'), log: (l) => lines.push(l) });
    expect(r).toMatchObject({ alice: 3, valid: true, totalEntries: 5 });
    expect(lines.join('\n')).toContain('Ledger integrity: VALID');
  });

  it('quickstart runs as the README shows: npx tsx examples/quickstart.ts', async () => {
    const { stdout } = await promisify(execFile)(
      'npx',
      ['tsx', 'examples/quickstart.ts', join(dir, 'cli.db')],
      {
        cwd: join(import.meta.dirname, '../..'),
        timeout: 60_000,
      },
    );
    expect(stdout).toContain("Alice's activities: 3");
    expect(stdout).toContain('Ledger integrity: VALID');
    expect(stdout).toContain('Total entries: 5');
  });

  it('financial-sox: RSA-signed entries on SQLite pass signer.verify(entry.hash, entry.signature)', async () => {
    const r = await financialSox.main({ path: join(dir, 'sox.db'), log: quiet });
    expect(r).toMatchObject({
      isValid: true,
      auditorCheck: true,
      forged: false,
      signaturesChecked: 4,
      size: 4,
    });
  });

  it("supply-chain: one product's history, by predicate and by structured query", async () => {
    const r = await supplyChain.main({ log: quiet });
    expect(r).toEqual({ events: ['manufactured', 'shipped', 'delivered'], structured: 3 });
  });

  it('deployment-audit: approvals policy and an offline inclusion proof', async () => {
    const r = await deploymentAudit.main({ log: quiet });
    expect(r).toEqual({ production: 1, unapproved: 0, included: true, checkpointSize: 2 });
  });

  it('database-changes: history of one database', async () => {
    const r = await databaseChanges.main({ path: join(dir, 'changes.db'), log: quiet });
    expect(r).toMatchObject({ production: 2, size: 3 });
  });

  it.skipIf(!PG)('healthcare-hipaa: PHI access log on PostgreSQL with a GDPR erasure', async () => {
    const r = await healthcare.main({ url: PG, log: quiet });
    expect(r).toMatchObject({ disclosures: 3, redacted: [0, 1, 2], size: 7, backend: 'postgres' });
  });

  it('express-banking: driven over HTTP, secrets stay out, auditors only, ledger verifies', async () => {
    const ledger = await Ledger.open({ backend: new SQLiteBackend({ path: join(dir, 'bank.db') }) });
    try {
      const { app, auditor } = expressBanking.createApp(ledger);
      const t = await request(app)
        .post('/api/transfer')
        .set('authorization', 'Bearer token-alice')
        .send({ from_account: 'ACC001', to_account: 'ACC002', amount: 75, pin: '9876' });
      expect(t.status).toBe(201);
      expect((await request(app).post('/api/transfer').send({ amount: 1 })).status).toBe(401);
      expect(
        (
          await request(app)
            .post('/api/transfer')
            .set('authorization', 'Bearer token-alice')
            .send({ amount: -5 })
        ).status,
      ).toBe(400);
      expect(
        (await request(app).get('/api/audit/entries').set('authorization', 'Bearer token-alice')).status,
      ).toBe(403);
      await auditor.flush();
      const page = await request(app).get('/api/audit/entries').set('authorization', 'Bearer token-auditor');
      expect(page.status).toBe(200);
      const events = page.body.entries.map((e: { data: Record<string, unknown> }) => e.data);
      expect(events[0]).toMatchObject({ action: 'payment', user: 'alice', amount: 75 });
      expect(events[1]).toMatchObject({
        event: 'http_request',
        route: '/api/transfer',
        status: 201,
        actor: 'alice',
      });
      expect(events[1].body).toMatchObject({ amount: 75, pin: '[REDACTED]' });
      expect(events[1].headers).toEqual({
        'content-length': expect.any(String),
        'content-type': 'application/json',
      });
      const text = JSON.stringify(await ledger.getEntries());
      expect(text).not.toContain('9876');
      expect(text).not.toContain('token-alice');
      const one = await request(app)
        .get(`/api/audit/entries/${t.body.entry_id}`)
        .set('authorization', 'Bearer token-auditor');
      expect(one.body.entry.hash).toBe(t.body.hash);
      expect(one.body.proof.index).toBe(0);
      const v = await request(app).get('/api/audit/verify').set('authorization', 'Bearer token-auditor');
      expect(v.body).toMatchObject({ valid: true });
      await auditor.close();
      await expect(ledger.verifyIntegrity()).resolves.toBe(true);
    } finally {
      await ledger.close();
    }
  });

  it('express-banking: a refused request is recorded with its error, scrubbed', async () => {
    const ledger = await Ledger.open({ backend: new SQLiteBackend({ path: join(dir, 'bank-errors.db') }) });
    try {
      const { app, auditor } = expressBanking.createApp(ledger);
      // express.json() refuses the body: Express answers 400 from the parser's error.
      const bad = await request(app)
        .post('/api/transfer')
        .set('authorization', 'Bearer token-alice')
        .set('content-type', 'application/json')
        .send('{"amount": 5, pin=4321');
      expect(bad.status).toBe(400);
      await auditor.close();
      const [e] = await ledger.getEntries();
      expect(e!.data).toMatchObject({
        event: 'http_request',
        route: null,
        path: '/api/transfer',
        status: 400,
        actor: 'alice',
        error: { name: 'SyntaxError', message: 'malformed request body' },
      });
      expect(JSON.stringify(e)).not.toContain('4321');
    } finally {
      await ledger.close();
    }
  });

  it('express-banking: main() runs its demo against a real server', async () => {
    const r = (await expressBanking.main({ path: join(dir, 'bank-main.db'), log: quiet })) as unknown as {
      denied: number;
      verify: { valid: boolean };
    };
    expect(r.denied).toBe(403);
    expect(r.verify.valid).toBe(true);
  });

  it('fastify-transactions: driven with app.inject(), schema-validated, ledger verifies', async () => {
    const app = await fastifyTransactions.buildApp(`sqlite:${join(dir, 'fastify.db')}`);
    try {
      const ok = await app.inject({
        method: 'POST',
        url: '/api/transaction',
        headers: { 'x-user-id': 'teller-1' },
        payload: { from_account: 'A', to_account: 'B', amount: 10, description: 'rent' },
      });
      expect(ok.statusCode).toBe(200);
      const body = ok.json();
      const entry = await app.ledger.getEntry(body.transaction_id);
      expect(entry?.hash).toBe(body.hash);
      expect(entry?.data).toMatchObject({ type: 'transaction', from: 'A', to: 'B', amount: 10 });
      const bad = await app.inject({
        method: 'POST',
        url: '/api/transaction',
        payload: { from_account: 'A', amount: 0 },
      });
      expect(bad.statusCode).toBe(400);
      expect((await app.inject({ url: '/api/audit/entries' })).statusCode).toBe(403);
      await app.signledgerAuditor!.flush();
      const entries = (
        await app.inject({ url: '/api/audit/entries', headers: { 'x-role': 'auditor' } })
      ).json().entries;
      const requests = entries.filter(
        (e: { data: Record<string, unknown> }) => e.data.event === 'http_request',
      );
      expect(requests.map((e: { data: Record<string, unknown> }) => [e.data.route, e.data.status])).toEqual([
        ['/api/transaction', 200],
        ['/api/transaction', 400],
        ['/api/audit/entries', 403],
      ]);
      expect(requests[0].data.actor).toBe('teller-1');
      await expect(app.ledger.verifyIntegrity()).resolves.toBe(true);
    } finally {
      await app.close();
    }
  });

  it('fastify-transactions: main() runs its demo', async () => {
    const r = await fastifyTransactions.main({ url: `sqlite:${join(dir, 'fastify-main.db')}`, log: quiet });
    expect(r).toMatchObject({ invalid: 400, verify: { valid: true } });
    expect(r.created).toHaveLength(3);
  });

  it.skipIf(!REDIS)(
    'bullmq-orders: jobs through real Redis, start/result/failure audited, ledger verifies',
    async () => {
      const r = await bullmqOrders.main({
        redisUrl: REDIS,
        ledgerUrl: `sqlite:${join(dir, 'orders.db')}`,
        log: quiet,
      });
      expect(r.outcomes.map((o) => o.ok)).toEqual([true, true, false]);
      const count = (ev: string) => r.events.filter((e) => e === ev).length;
      expect([
        count('job_enqueued'),
        count('job_started'),
        count('job_completed'),
        count('job_failed'),
      ]).toEqual([3, 3, 2, 1]);
    },
  );
});
