/**
 * `signledger/hono`: request auditing middleware and read-only audit routes for Hono 4.
 *
 *   app.use(auditMiddleware(ledger, { actor: (c) => c.get('userId') }));
 *   app.route('/audit', auditRoutes(ledger, { authorize: (c) => c.get('role') === 'auditor' }));
 */
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Ledger } from '../../ledger/ledger.js';
import type { Auditor } from '../shared/auditor.js';
import { RequestAudit, type RequestAuditOptions } from '../shared/request-audit.js';
import { AUDIT_ROUTES, AuditRouteHandlers, type AuditRoutesOptions } from '../shared/routes.js';

export interface HonoAuditOptions extends RequestAuditOptions<Context> {
  /**
   * Client address. Default: the socket address under @hono/node-server (`c.env.incoming`), else null.
   * Behind a proxy, read your trusted forwarding header here.
   */
  ip?: (c: Context) => string | null | undefined;
}
export type HonoRoutesOptions = AuditRoutesOptions<Context>;

export type AuditMiddleware = MiddlewareHandler & { auditor: Auditor };

function socketAddress(c: Context): string | null {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? null;
}

type BodyCache = {
  json?: Promise<unknown>;
  text?: Promise<string>;
  arrayBuffer?: Promise<ArrayBuffer>;
  formData?: Promise<FormData>;
};

/**
 * The body as the handler (or a validator) already read it; `undefined` when it was not read. The
 * middleware never reads the request stream itself: an unread body may be of any size. A read body
 * larger than `maxBytes` is noted as too large without being parsed.
 */
async function parsedBody(c: Context, maxBytes: number): Promise<unknown> {
  const validated =
    (c.req.valid as (t: string) => unknown)('json') ?? (c.req.valid as (t: string) => unknown)('form');
  if (validated !== undefined) return validated;
  const cache = (c.req as unknown as { bodyCache?: BodyCache }).bodyCache ?? {};
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  const tooLarge = (bytes: number) => ({ omitted: 'too_large', bytes });
  if (cache.formData) {
    const form = await cache.formData;
    const out: Record<string, unknown> = {};
    let n = 0;
    for (const [k, v] of form.entries()) {
      if (n++ >= 200) break;
      out[k] = typeof v === 'string' ? v : `[file ${v.size} bytes]`;
    }
    return out;
  }
  let text: string | undefined;
  if (cache.text) text = await cache.text;
  else if (cache.arrayBuffer) {
    const buf = await cache.arrayBuffer;
    if (buf.byteLength > maxBytes) return tooLarge(buf.byteLength);
    text = Buffer.from(buf).toString('utf8');
  } else if (cache.json) {
    return await cache.json;
  }
  if (text === undefined || text === '') return undefined;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) return tooLarge(bytes);
  if (type.includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  }
  if (type.includes('application/x-www-form-urlencoded'))
    return Object.fromEntries(new URLSearchParams(text));
  return undefined;
}

/**
 * Record each request after the handler ran (Hono turns thrown errors into a response first, so the
 * status is final). Queued by default; `await: true` writes the entry before the response is returned
 * (waiting at most `awaitTimeoutMs`). With `body`, only a body the handler or a validator read is
 * recorded (`c.req.json()`, `c.req.parseBody()`, `c.req.valid('json')`): the middleware never reads
 * the request stream itself.
 */
export function auditMiddleware(ledger: Ledger, options: HonoAuditOptions = {}): AuditMiddleware {
  const audit = new RequestAudit<Context>(ledger, options);
  const mw: MiddlewareHandler = async (c, next) => {
    if (audit.skip(c)) return next();
    const startedAt = Date.now();
    const t0 = performance.now();
    await next();
    const durationMs = performance.now() - t0;
    let body: unknown;
    try {
      if (audit.wantsBody) body = await parsedBody(c, audit.maxBodyBytes);
    } catch {
      body = undefined;
    }
    const facts = () => {
      let ip: string | null = null;
      try {
        ip = (options.ip ? options.ip(c) : socketAddress(c)) ?? null;
      } catch {
        ip = null;
      }
      const route = routePath(c);
      return {
        method: c.req.method,
        route: audit.routeOf(c, route && route !== '*' && route !== '/*' ? route : null),
        path: c.req.path,
        status: c.res.status,
        durationMs,
        startedAt,
        requestId: audit.requestId(c.req.header(audit.requestIdHeader)),
        ip,
        headers: c.req.raw.headers,
        query: audit.wantsQuery ? c.req.queries() : undefined,
        body,
        error: c.error,
      };
    };
    // Never rejects; in await mode it waits at most awaitTimeoutMs.
    const written = audit.commit(facts, c);
    if (audit.awaitAppends) await written;
  };
  return Object.assign(mw, { auditor: audit.auditor });
}

/** A sub-app with `GET /entries`, `/entries/:id`, `/checkpoint`, `/verify`; mount it with `app.route()`. */
export function auditRoutes(ledger: Ledger, options: HonoRoutesOptions = {}): Hono {
  const handlers = new AuditRouteHandlers<Context>(ledger, options);
  const app = new Hono();
  for (const r of AUDIT_ROUTES) {
    app.get(r.path, async (c) => {
      const res = await handlers.handle(r.kind, c, {
        params: c.req.param() as Record<string, string>,
        query: c.req.query(),
      });
      return c.json(res.body as object, res.status as 200);
    });
  }
  return app;
}

export { type AuditFailureInfo, Auditor, type AuditorOptions } from '../shared/auditor.js';
export { DEFAULT_DENY, DEFAULT_RECORDED_HEADERS, REDACTED } from '../shared/secrets.js';
