/**
 * `signledger/express`: request auditing middleware and read-only audit routes for Express 5.
 *
 *   const audit = auditMiddleware(ledger, { actor: (req) => currentUser(req)?.id });
 *   app.use(audit);
 *   app.use('/api/audit', auditRouter(ledger, { authorize: (req) => currentUser(req)?.role === 'auditor' }));
 *   // … your routes …
 *   app.use(audit.errorHandler); // records what a handler threw, then passes it on
 */

import type { Socket } from 'node:net';
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
  // The route the error came from (its router has restored req.baseUrl by now).
  const m = matchedRoutes.get(req);
  if (m && (req as { route?: unknown }).route === m.route) erroredRoutes.set(req, m.pattern);
  next(err);
};

/**
 * Hold what is written to `socket` (Node's `end()` uncorks a corked socket, so corking cannot hold it)
 * and defer any `destroy()` until the returned release runs: release writes the held chunks, with
 * their callbacks (so 'finish' comes after them), then performs a deferred destroy once they are out.
 */
function holdSocket(socket: Socket, res: Response): () => void {
  const own = { write: Object.hasOwn(socket, 'write'), destroy: Object.hasOwn(socket, 'destroy') };
  const write = socket.write;
  const destroy = socket.destroy;
  const held: unknown[][] = [];
  let deferred: unknown[] | null = null;
  socket.write = ((...a: unknown[]) => {
    held.push(a);
    return true;
  }) as Socket['write'];
  socket.destroy = function (this: Socket, ...a: unknown[]) {
    deferred ??= a;
    return this;
  } as Socket['destroy'];
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (own.write) socket.write = write;
    else delete (socket as { write?: unknown }).write;
    if (own.destroy) socket.destroy = destroy;
    else delete (socket as { destroy?: unknown }).destroy;
    for (const a of held) {
      try {
        (write as (...x: unknown[]) => boolean).apply(socket, a);
      } catch (err) {
        (destroy as (e?: Error) => Socket).call(socket, err as Error);
        return;
      }
    }
    const args = deferred;
    if (args === null) return;
    const run = () => (destroy as (...a: unknown[]) => Socket).apply(socket, args);
    if (res.writableFinished || socket.destroyed) run();
    else {
      res.once('finish', run);
      res.once('close', run);
    }
  };
}

/** The last route that matched each request: the route object, its full pattern and req.baseUrl then. */
const matchedRoutes = new WeakMap<Request, { route: unknown; pattern: string; baseUrl: string }>();
/** The full pattern of the route an error came from (noted by errorHandler). */
const erroredRoutes = new WeakMap<Request, string>();

/**
 * Note the full pattern when the router sets `req.route`, while `req.baseUrl` is still the mount path
 * of the route's router: once the router is left (an error, or `next()` past the route), Express
 * restores `req.baseUrl` and `baseUrl + route.path` would lose the prefix.
 */
function watchRoute(req: Request): void {
  let current: unknown = (req as { route?: unknown }).route;
  try {
    Object.defineProperty(req, 'route', {
      configurable: true,
      enumerable: true,
      get: () => current,
      set: (v: unknown) => {
        current = v;
        const path = (v as { path?: unknown } | undefined)?.path;
        if (typeof path === 'string') {
          const baseUrl = req.baseUrl || '';
          matchedRoutes.set(req, { route: v, pattern: baseUrl + path, baseUrl });
        }
      },
    });
  } catch {
    // A frozen or exotic request: routePattern falls back to req.baseUrl at the end.
  }
}

/**
 * The matched route's full pattern; `null` when no route matched, or when the matched route passed
 * the request on with `next()` and something else answered (a 404).
 */
function routePattern(req: Request): string | null {
  const errored = erroredRoutes.get(req);
  if (errored !== undefined) return errored;
  const r = (req as Request & { route?: { path?: unknown } }).route;
  if (!r || typeof r.path !== 'string') return null;
  const m = matchedRoutes.get(req);
  if (!m || m.route !== r) return (req.baseUrl || '') + r.path;
  // Still inside the route's router (it answered): its pattern. Left it without an error: not its answer.
  return (req.baseUrl || '') === m.baseUrl ? m.pattern : null;
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
    watchRoute(req);
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
      // Hold the bytes, not the call: `end()` runs at once, so `headersSent`, `writableEnded` and a
      // second send's ERR_HTTP_HEADERS_SENT are exactly as without the middleware, while the socket
      // holds the end of the response until the entry is written or queued (at most awaitTimeoutMs). A `socket.destroy()` meanwhile (Express's final handler does that for an error
      // after the response was sent) waits until the held bytes are out, as it would have.
      const end = res.end.bind(res) as (...a: unknown[]) => Response;
      res.end = ((...args: unknown[]) => {
        if (done) return end(...args);
        done = true;
        const socket = res.socket;
        if (!socket || socket.destroyed) {
          void audit.commit(() => facts(false), req);
          return end(...args);
        }
        const release = holdSocket(socket, res);
        try {
          end(...args);
        } catch (err) {
          release();
          throw err;
        }
        // One turn later, so an error thrown right after sending reaches errorHandler first (as it
        // does before 'finish' without `await`).
        setImmediate(() => void audit.commit(() => facts(false), req).then(release));
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
