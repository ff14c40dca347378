/**
 * The seed's Flask banking app as Express 5: every request is audited (secrets never recorded), each
 * payment is logged, and `/api/audit/*` serves the log to auditors only.
 *
 *   npx tsx examples/express-banking.ts           (runs a short demo against itself and exits)
 *   npx tsx examples/express-banking.ts --serve   (keeps serving on PORT, default 3000)
 */

import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import express from 'express';
import { SQLiteBackend } from '../src/backends/sqlite/index.js';
import { Ledger } from '../src/index.js';
import { auditMiddleware, auditRouter, verifyRoute } from '../src/integrations/express/index.js';

/** Stand-in for your session layer: a bearer token → user map. */
const USERS: Record<string, { id: string; role: 'customer' | 'auditor' }> = {
  'token-alice': { id: 'alice', role: 'customer' },
  'token-auditor': { id: 'audit-team', role: 'auditor' },
};
function userOf(req: express.Request) {
  const h = req.get('authorization') ?? '';
  return USERS[h.replace(/^Bearer /, '')];
}

export function createApp(ledger: Ledger) {
  const app = express();
  // First, so a request a later middleware refuses (a malformed JSON body) is recorded too.
  const audit = auditMiddleware(ledger, { actor: (req) => userOf(req)?.id, body: true });
  app.use(audit);
  app.use(express.json());

  app.post('/api/transfer', async (req, res) => {
    const user = userOf(req);
    if (!user) return void res.status(401).json({ error: 'unauthenticated' });
    const { from_account, to_account, amount } = req.body ?? {};
    if (typeof amount !== 'number' || amount <= 0 || !from_account || !to_account) {
      return void res
        .status(400)
        .json({ error: 'from_account, to_account and a positive amount are required' });
    }
    // The business event, awaited: the transfer is not confirmed unless it is on the ledger.
    const entry = await ledger.append({
      action: 'payment',
      user: user.id,
      from: from_account,
      to: to_account,
      amount,
      status: 'completed',
    });
    res.status(201).json({ status: 'success', entry_id: entry.id, hash: entry.hash });
  });

  const onlyAuditors = { authorize: (req: express.Request) => userOf(req)?.role === 'auditor' };
  app.get('/api/audit/verify', verifyRoute(ledger, onlyAuditors));
  app.use('/api/audit', auditRouter(ledger, onlyAuditors));
  // After the routes: what a handler threw goes into its entry, then on to Express's error handler.
  app.use(audit.errorHandler);
  return { app, auditor: audit.auditor };
}

export async function main(
  options: { path?: string; serve?: boolean; port?: number; log?: (line: string) => void } = {},
) {
  const log = options.log ?? console.log;
  const path = options.path ?? join(mkdtempSync(join(tmpdir(), 'signledger-bank-')), 'audit.db');
  const ledger = await Ledger.open({ backend: new SQLiteBackend({ path }) });
  const { app, auditor } = createApp(ledger);
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(
      options.port ?? (options.serve ? Number(process.env.PORT ?? 3000) : 0),
      '127.0.0.1',
      () => resolve(s),
    );
  });
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  if (options.serve) {
    log(
      `banking demo on ${base} (ledger ${path}); try: curl -H 'authorization: Bearer token-auditor' ${base}/api/audit/verify`,
    );
    return { server, ledger };
  }
  try {
    const call = async (method: string, p: string, token?: string, body?: unknown) => {
      const r = await fetch(base + p, {
        method,
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    const t = await call('POST', '/api/transfer', 'token-alice', {
      from_account: 'ACC001',
      to_account: 'ACC002',
      amount: 150,
      pin: '1234',
    });
    log(`POST /api/transfer → ${t.status} ${JSON.stringify(t.body)}`);
    const denied = await call('GET', '/api/audit/verify', 'token-alice');
    log(`GET /api/audit/verify as a customer → ${denied.status}`);
    await auditor.flush();
    const v = await call('GET', '/api/audit/verify', 'token-auditor');
    log(`GET /api/audit/verify as an auditor → ${v.status} ${JSON.stringify(v.body)}`);
    await auditor.flush();
    await ledger.verifyIntegrity();
    return { transfer: t, denied: denied.status, verify: v.body, entries: await ledger.getEntries() };
  } finally {
    await new Promise((r) => server.close(r));
    await auditor.close();
    await ledger.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main({ serve: process.argv.includes('--serve') });
}
