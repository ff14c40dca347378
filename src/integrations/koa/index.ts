/**
 * `signledger/koa`: request auditing middleware and read-only audit routes for Koa 3.
 *
 *   app.use(auditMiddleware(ledger, { actor: (ctx) => ctx.state.user?.id }));
 *   app.use(auditRoutes(ledger, { prefix: '/audit', authorize: (ctx) => ctx.state.user?.auditor === true }));
 */
import type { Context, Middleware, Next } from 'koa';
import type { Ledger } from '../../ledger/ledger.js';
import type { Auditor } from '../shared/auditor.js';
import { RequestAudit, type RequestAuditOptions } from '../shared/request-audit.js';
import { AuditRouteHandlers, type AuditRoutesOptions, matchAuditRoute } from '../shared/routes.js';

export type KoaAuditOptions = RequestAuditOptions<Context>;
export interface KoaRoutesOptions extends AuditRoutesOptions<Context> {
  /** Mount point (default `/audit`). */
  prefix?: string;
}

export type AuditMiddleware = Middleware & { auditor: Auditor };

/** @koa/router sets `_matchedRoute`; other routers can be mapped with the `route` option. */
function routePattern(ctx: Context): string | null {
  const m =
    (ctx as Context & { _matchedRoute?: unknown; routerPath?: unknown })._matchedRoute ??
    (ctx as { routerPath?: unknown }).routerPath;
  return typeof m === 'string' ? m : null;
}

/**
 * Record each request after the downstream middleware settled (a thrown error is recorded with its
 * status and re-thrown). Queued by default; `await: true` writes the entry before the response goes out.
 */
export function auditMiddleware(ledger: Ledger, options: KoaAuditOptions = {}): AuditMiddleware {
  const audit = new RequestAudit<Context>(ledger, options);
  const mw = async (ctx: Context, next: Next): Promise<void> => {
    if (audit.skip(ctx)) return next();
    const startedAt = Date.now();
    const t0 = performance.now();
    let error: unknown;
    try {
      await next();
    } catch (err) {
      error = err;
    }
    const facts = () => ({
      method: ctx.method,
      route: audit.routeOf(ctx, routePattern(ctx)),
      path: ctx.path,
      status: error === undefined ? ctx.status : statusOf(error),
      durationMs: performance.now() - t0,
      startedAt,
      requestId: audit.requestId(
        ctx.get(audit.requestIdHeader) || undefined,
        (ctx.state as { requestId?: unknown })?.requestId,
      ),
      ip: ctx.ip || null,
      headers: ctx.headers,
      query: audit.wantsQuery ? ctx.query : undefined,
      body: audit.wantsBody ? (ctx.request as { body?: unknown }).body : undefined,
      error,
    });
    // Never rejects; in await mode it waits at most awaitTimeoutMs.
    const written = audit.commit(facts, ctx);
    if (audit.awaitAppends) await written;
    if (error !== undefined) throw error;
  };
  return Object.assign(mw, { auditor: audit.auditor });
}

function statusOf(err: unknown): number {
  const s =
    (err as { status?: unknown; statusCode?: unknown })?.status ??
    (err as { statusCode?: unknown })?.statusCode;
  return typeof s === 'number' && s >= 400 && s < 600 ? s : 500;
}

/** `GET {prefix}/entries`, `/entries/:id`, `/checkpoint`, `/verify`; other requests pass through. */
export function auditRoutes(ledger: Ledger, options: KoaRoutesOptions = {}): Middleware {
  const handlers = new AuditRouteHandlers<Context>(ledger, options);
  const prefix = (options.prefix ?? '/audit').replace(/\/+$/, '');
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (ctx.path !== prefix && !ctx.path.startsWith(prefix + '/')) return next();
    const match = matchAuditRoute(ctx.path.slice(prefix.length));
    if (!match) return next();
    const r = await handlers.handle(match.kind, ctx, { params: match.params, query: ctx.query });
    ctx.status = r.status;
    ctx.body = r.body;
    (ctx as Context & { routerPath?: string }).routerPath =
      prefix + (match.kind === 'entry' ? '/entries/:id' : `/${match.kind}`);
  };
}

export { type AuditFailureInfo, Auditor, type AuditorOptions } from '../shared/auditor.js';
export { DEFAULT_DENY, DEFAULT_RECORDED_HEADERS, REDACTED } from '../shared/secrets.js';
