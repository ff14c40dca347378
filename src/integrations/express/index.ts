/**
 * `signledger/express`: request auditing middleware and read-only audit routes for Express 5.
 *
 *   const audit = auditMiddleware(ledger, { actor: (req) => currentUser(req)?.id });
 *   app.use(audit);
 *   app.use('/api/audit', auditRouter(ledger, { authorize: (req) => currentUser(req)?.role === 'auditor' }));
 *   // … your routes …
 *   app.use(audit.errorHandler); // records what a handler threw, then passes it on
 */
import express, {
  type ErrorRequestHandler,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import type { Ledger } from '../../ledger/ledger.js';
import type { Auditor } from '../shared/auditor.js';
import { RequestAudit, type RequestAuditOptions } from '../shared/request-audit.js';
import {
  AUDIT_ROUTES,
  AuditRouteHandlers,
  type AuditRouteKind,
  type AuditRoutesOptions,
} from '../shared/routes.js';
import { pathOnly } from '../shared/secrets.js';

export type ExpressAuditOptions = RequestAuditOptions<Request>;
export type ExpressRoutesOptions = AuditRoutesOptions<Request>;

/** The middleware, with the auditor (counters, `pending`, `flush()`) and the error handler attached. */
export type AuditMiddleware = RequestHandler & {
  auditor: Auditor;
  /**
   * Error-handling middleware that notes the error for the request's entry (`error: { name, message }`)
   * and passes it on with `next(err)`, unchanged. Express shows errors only to error-handling
   * middleware, so install it after your routes and before your own error handlers.
   */
  errorHandler: ErrorRequestHandler;
};

/** The error each request passed to an `errorHandler` (the last one, if several). */
const requestErrors = new WeakMap<Request, unknown>();

const errorHandler: ErrorRequestHandler = (err, req, _res, next) => {
  requestErrors.set(req, err);
  next(err);
};

function routePattern(req: Request): string | null {
  const r = (req as Request & { route?: { path?: unknown } }).route;
  if (!r || typeof r.path !== 'string') return null;
  return (req.baseUrl || '') + r.path;
}

/**
 * Record every request once its response is finished (or the client went away). By default the append
 * is queued after the response; with `await: true` the end of the response waits for it. Install the
 * returned `errorHandler` after your routes too, or entries of failed requests have no `error`.
 */
export function auditMiddleware(ledger: Ledger, options: ExpressAuditOptions = {}): AuditMiddleware {
  const audit = new RequestAudit<Request>(ledger, options);
  const handler = (req: Request, res: Response, next: NextFunction): void => {
    if (audit.skip(req)) {
      next();
      return;
    }
    const startedAt = Date.now();
    const t0 = performance.now();
    const requestId = audit.requestId(req.headers[audit.requestIdHeader], (req as { id?: unknown }).id);
    let done = false;
    const facts = (aborted: boolean) => ({
      method: req.method,
      route: audit.routeOf(req, routePattern(req)),
      path: pathOnly(req.originalUrl ?? req.url),
      status: res.statusCode,
      durationMs: performance.now() - t0,
      startedAt,
      requestId,
      ip: req.ip ?? req.socket?.remoteAddress ?? null,
      headers: req.headers,
      query: audit.wantsQuery ? req.query : undefined,
      body: audit.wantsBody ? req.body : undefined,
      error: requestErrors.get(req),
      aborted,
    });
    if (audit.awaitAppends) {
      // Hold the end of the response until the entry is written or queued (at most awaitTimeoutMs).
      const end = res.end.bind(res) as (...a: unknown[]) => Response;
      res.end = ((...args: unknown[]) => {
        if (done) return end(...args);
        done = true;
        void audit
          .commit(() => facts(false), req)
          .then(() => {
            try {
              end(...args);
            } catch (err) {
              res.destroy(err as Error);
            }
          });
        return res;
      }) as Response['end'];
    } else {
      res.once('finish', () => {
        if (done) return;
        done = true;
        void audit.commit(() => facts(false), req);
      });
    }
    res.once('close', () => {
      if (done) return;
      done = true;
      void audit.commit(() => facts(true), req);
    });
    next();
  };
  return Object.assign(handler, { auditor: audit.auditor, errorHandler });
}

function send(handlers: AuditRouteHandlers<Request>, kind: AuditRouteKind): RequestHandler {
  return async (req, res) => {
    const r = await handlers.handle(kind, req, {
      params: req.params as Record<string, string>,
      query: req.query as Record<string, unknown>,
    });
    res.status(r.status).json(r.body);
  };
}

/** `GET` handler for the seed's `/api/audit/verify`: verification report and stats. Denied without `authorize`. */
export function verifyRoute(ledger: Ledger, options: ExpressRoutesOptions = {}): RequestHandler {
  return send(new AuditRouteHandlers(ledger, options), 'verify');
}

/** A router with `GET /entries`, `/entries/:id` (with inclusion proof), `/checkpoint`, `/verify`. */
export function auditRouter(ledger: Ledger, options: ExpressRoutesOptions = {}): Router {
  const handlers = new AuditRouteHandlers<Request>(ledger, options);
  const router = express.Router();
  for (const r of AUDIT_ROUTES) router.get(r.path, send(handlers, r.kind));
  return router;
}

export { type AuditFailureInfo, Auditor, type AuditorOptions } from '../shared/auditor.js';
export { DEFAULT_DENY, DEFAULT_RECORDED_HEADERS, REDACTED } from '../shared/secrets.js';
