/**
 * `signledger/fastify`: one plugin that opens (or takes) a ledger, decorates `app.ledger`, audits every
 * request and mounts the read-only audit routes.
 *
 *   await app.register(signledgerPlugin, { url: process.env.SIGNLEDGER_URL, routes: { authorize } });
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigurationError } from '../../errors.js';
import type { Ledger } from '../../ledger/ledger.js';
import type { LedgerOptions } from '../../ledger/options.js';
import { type LedgerConfig, openLedger } from '../../open.js';
import type { Auditor } from '../shared/auditor.js';
import { RequestAudit, type RequestAuditOptions, type RequestFacts } from '../shared/request-audit.js';
import { AUDIT_ROUTES, AuditRouteHandlers, type AuditRoutesOptions } from '../shared/routes.js';
import { pathOnly } from '../shared/secrets.js';

export type FastifyAuditOptions = RequestAuditOptions<FastifyRequest>;
export interface FastifyRoutesOptions extends AuditRoutesOptions<FastifyRequest> {
  /** Mount point of the audit routes (default `/audit`). */
  prefix?: string;
}

export interface SignLedgerPluginOptions {
  /** Open a ledger from this URL (`sqlite:./audit.db`, `postgres://…`) with `openLedger`; closed on app close. */
  url?: string;
  /** Or a full `openLedger` config (Django-style settings); closed on app close. */
  config?: LedgerConfig;
  /** Ledger options used with `url` (enableSignatures, signer, logKey, …). */
  ledgerOptions?: Omit<LedgerOptions, 'backend'>;
  /** Or a ledger you opened yourself (not closed by the plugin). */
  ledger?: Ledger;
  /** Request auditing options, or `false` to record nothing. */
  audit?: FastifyAuditOptions | false;
  /** Audit routes options, or `false` not to mount them. They deny every request without `authorize`. */
  routes?: FastifyRoutesOptions | false;
}

declare module 'fastify' {
  interface FastifyInstance {
    ledger: Ledger;
    /** The request auditor (counters, `pending`, `flush()`), or null when auditing is off. */
    signledgerAuditor: Auditor | null;
  }
}

const plugin: FastifyPluginAsync<SignLedgerPluginOptions> = async (app, opts) => {
  const given = [opts.ledger, opts.url, opts.config].filter((x) => x !== undefined).length;
  if (given !== 1)
    throw new ConfigurationError('signledgerPlugin needs exactly one of { ledger }, { url } or { config }');
  const owned = opts.ledger === undefined;
  const ledger = opts.ledger ?? (await openLedger(opts.url ?? opts.config!, opts.ledgerOptions ?? {}));
  app.decorate('ledger', ledger);

  let audit: RequestAudit<FastifyRequest> | null = null;
  if (opts.audit !== false) {
    audit = new RequestAudit<FastifyRequest>(ledger, opts.audit ?? {});
    installAuditHooks(app, audit);
  }
  app.decorate('signledgerAuditor', audit?.auditor ?? null);

  if (opts.routes !== false) {
    const routeOpts = opts.routes ?? {};
    const handlers = new AuditRouteHandlers<FastifyRequest>(ledger, routeOpts);
    await app.register(
      async (scope) => {
        for (const r of AUDIT_ROUTES) {
          scope.get(r.path, async (req, reply) => {
            const res = await handlers.handle(r.kind, req, {
              params: req.params as Record<string, string>,
              query: req.query as Record<string, unknown>,
            });
            return reply.code(res.status).send(res.body);
          });
        }
      },
      { prefix: routeOpts.prefix ?? '/audit' },
    );
  }

  app.addHook('onClose', async () => {
    if (audit) await audit.auditor.close();
    if (owned) await ledger.close();
  });
};

function installAuditHooks(app: FastifyInstance, audit: RequestAudit<FastifyRequest>): void {
  const errors = new WeakMap<FastifyRequest, unknown>();
  const done = new WeakSet<FastifyRequest>();
  const facts = (req: FastifyRequest, status: number, elapsedMs: number, aborted: boolean): RequestFacts => ({
    method: req.method,
    route: audit.routeOf(req, req.routeOptions?.url ?? null),
    path: pathOnly(req.url),
    status,
    durationMs: elapsedMs,
    startedAt: Date.now() - elapsedMs,
    requestId: audit.requestId(req.headers[audit.requestIdHeader], req.id),
    ip: req.ip ?? null,
    headers: req.headers,
    query: audit.wantsQuery ? req.query : undefined,
    body: audit.wantsBody ? req.body : undefined,
    error: errors.get(req),
    aborted,
  });
  const fromReply = (req: FastifyRequest, reply: FastifyReply) =>
    facts(req, reply.statusCode, reply.elapsedTime, false);
  const once = (req: FastifyRequest): boolean => {
    if (done.has(req) || audit.skip(req)) return false;
    done.add(req);
    return true;
  };
  app.addHook('onError', async (req, _reply, error) => {
    errors.set(req, error);
  });
  if (audit.awaitAppends) {
    // onSend is awaited before the payload goes out: the entry is written first (or the wait timed out).
    app.addHook('onSend', async (req, reply, payload) => {
      if (once(req)) await audit.commit(() => fromReply(req, reply), req);
      return payload;
    });
  }
  app.addHook('onResponse', async (req, reply) => {
    if (once(req)) void audit.commit(() => fromReply(req, reply), req);
  });
  // The client went away before a response: record it with nginx's 499 ("client closed request").
  const starts = new WeakMap<FastifyRequest, number>();
  app.addHook('onRequest', async (req) => {
    starts.set(req, performance.now());
  });
  app.addHook('onRequestAbort', async (req) => {
    if (once(req))
      void audit.commit(
        () => facts(req, 499, performance.now() - (starts.get(req) ?? performance.now()), true),
        req,
      );
  });
}

// Not encapsulated (what fastify-plugin does): `app.ledger` and the hooks apply to the whole app.
const meta = plugin as FastifyPluginAsync<SignLedgerPluginOptions> & Record<symbol, unknown>;
meta[Symbol.for('skip-override')] = true;
meta[Symbol.for('fastify.display-name')] = 'signledger';
meta[Symbol.for('plugin-meta')] = { name: 'signledger', fastify: '5.x' };

export const signledgerPlugin: FastifyPluginAsync<SignLedgerPluginOptions> = plugin;
export default signledgerPlugin;

export { type AuditFailureInfo, Auditor, type AuditorOptions } from '../shared/auditor.js';
export { DEFAULT_DENY, DEFAULT_RECORDED_HEADERS, REDACTED } from '../shared/secrets.js';
