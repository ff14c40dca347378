/**
 * The seed's FastAPI transaction API as Fastify 5: a schema-typed POST /api/transaction that logs each
 * transaction, the plugin's request auditing, and its read-only routes under /api/audit for auditors.
 *
 *   SIGNLEDGER_URL=sqlite:./transactions.db npx tsx examples/fastify-transactions.ts [--serve]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import { signledgerPlugin } from '../src/integrations/fastify/index.js';

interface Transaction {
  from_account: string;
  to_account: string;
  amount: number;
  description: string;
}

export async function buildApp(url: string) {
  const app = Fastify({ logger: false });
  await app.register(signledgerPlugin, {
    url,
    audit: { actor: (req) => req.headers['x-user-id'] as string | undefined },
    routes: { prefix: '/api/audit', authorize: (req) => req.headers['x-role'] === 'auditor' },
  });

  app.post<{ Body: Transaction }>(
    '/api/transaction',
    {
      schema: {
        body: {
          type: 'object',
          required: ['from_account', 'to_account', 'amount', 'description'],
          additionalProperties: false,
          properties: {
            from_account: { type: 'string', minLength: 1 },
            to_account: { type: 'string', minLength: 1 },
            amount: { type: 'number', exclusiveMinimum: 0 },
            description: { type: 'string' },
          },
        },
      },
    },
    async (req) => {
      const txn = req.body;
      const entry = await app.ledger.append({
        type: 'transaction',
        from: txn.from_account,
        to: txn.to_account,
        amount: txn.amount,
        description: txn.description,
        timestamp: new Date().toISOString(),
      });
      return { transaction_id: entry.id, hash: entry.hash, timestamp: entry.timestamp };
    },
  );
  return app;
}

export async function main(options: { url?: string; serve?: boolean; log?: (line: string) => void } = {}) {
  const log = options.log ?? console.log;
  const url =
    options.url ??
    process.env.SIGNLEDGER_URL ??
    `sqlite:${join(mkdtempSync(join(tmpdir(), 'signledger-fastify-')), 'transactions.db')}`;
  const app = await buildApp(url);
  if (options.serve) {
    const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
    log(`transaction API on ${address}`);
    return { app };
  }
  try {
    const created = [];
    for (const [i, amount] of [120.5, 99.99, 5000].entries()) {
      const r = await app.inject({
        method: 'POST',
        url: '/api/transaction',
        headers: { 'x-user-id': 'teller-7' },
        payload: { from_account: `ACC00${i}`, to_account: 'ACC900', amount, description: `invoice ${i}` },
      });
      created.push(r.json());
      log(`POST /api/transaction → ${r.statusCode} ${r.body}`);
    }
    const bad = await app.inject({ method: 'POST', url: '/api/transaction', payload: { amount: -1 } });
    log(`POST /api/transaction (invalid) → ${bad.statusCode}`);
    await app.signledgerAuditor!.flush();
    const entries = await app.inject({
      url: '/api/audit/entries?limit=100',
      headers: { 'x-role': 'auditor' },
    });
    const verify = await app.inject({ url: '/api/audit/verify', headers: { 'x-role': 'auditor' } });
    log(
      `GET /api/audit/entries → ${entries.json().entries.length} entries; /api/audit/verify → ${verify.body}`,
    );
    await app.ledger.verifyIntegrity();
    return { created, invalid: bad.statusCode, entries: entries.json().entries, verify: verify.json() };
  } finally {
    await app.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main({ serve: process.argv.includes('--serve') });
}
