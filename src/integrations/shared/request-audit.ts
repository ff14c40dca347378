/**
 * Framework-neutral request auditing: the options every HTTP integration accepts and the record it
 * writes. Adapters gather the facts from their framework; this file decides what is kept.
 */
import { randomUUID } from 'node:crypto';
import type { Ledger } from '../../ledger/ledger.js';
import { Auditor, type AuditorOptions } from './auditor.js';
import { cappedValue, DEFAULT_RECORDED_HEADERS, SecretPolicy } from './secrets.js';

export type Actor = string | number | null | undefined;

export interface RequestAuditOptions<Req> extends AuditorOptions {
  /** The `event` field of each entry (default `http_request`). */
  event?: string;
  /** Who made the request (a user id from your auth layer). Errors it throws give `actor: null`. */
  actor?: (req: Req) => Actor | Promise<Actor>;
  /** Header a client-supplied request id is read from (default `x-request-id`). */
  requestIdHeader?: string;
  /**
   * Headers to record: an allow-list of names, `true` for all, `false` for none. Default: user-agent,
   * content-type, content-length, accept, origin, referer. Denied names are always `[REDACTED]`.
   */
  headers?: boolean | readonly string[];
  /** Record the parsed body: `true`, or an allow-list of top-level fields. Default `false` (off). */
  body?: boolean | readonly string[];
  /** Record the query string parameters (`true` or an allow-list). Default `false`. */
  query?: boolean | readonly string[];
  /** Names added to the deny-list (matched case- and punctuation-insensitively, as substrings). */
  redact?: readonly string[];
  /** Largest recorded body/query in bytes of JSON (default 16 KiB); larger ones are noted, not stored. */
  maxBodyBytes?: number;
  /**
   * Record the message of an error the handler threw (default `true`): its first 500 characters,
   * scrubbed with the deny-list (`password=…`, `?token=…`, `user:pass@`, `Bearer …`). `false` records the
   * error's name only.
   */
  errorMessages?: boolean;
  /** Requests for which nothing is recorded (health checks, static files). */
  skip?: (req: Req) => boolean;
  /** Override the route pattern (e.g. with your router's own). */
  route?: (req: Req) => string | null | undefined;
  /** Share one Auditor (and its queue and counters) between several middlewares. */
  auditor?: Auditor;
}

/** What an adapter knows about a finished request. */
export interface RequestFacts {
  method: string;
  route: string | null;
  path: string;
  status: number;
  durationMs: number;
  startedAt: number;
  requestId: string;
  ip: string | null;
  headers: Record<string, string | string[] | number | undefined> | Headers;
  query?: unknown;
  body?: unknown;
  error?: unknown;
  aborted?: boolean;
}

const SAFE_ID = /^[\w.:@/+=-]{1,128}$/;

/** The shared part of every HTTP adapter: policy, auditor and the record builder. */
export class RequestAudit<Req> {
  readonly auditor: Auditor;
  readonly policy: SecretPolicy;
  private readonly opts: RequestAuditOptions<Req>;
  private readonly idHeader: string;

  constructor(ledger: Ledger, opts: RequestAuditOptions<Req> = {}) {
    this.opts = opts;
    this.auditor = opts.auditor ?? new Auditor(ledger, opts);
    this.policy = new SecretPolicy(opts.redact ?? []);
    this.idHeader = (opts.requestIdHeader ?? 'x-request-id').toLowerCase();
  }

  get awaitAppends(): boolean {
    return this.opts.await ?? this.auditor.awaitAppends;
  }

  get maxBodyBytes(): number {
    return this.opts.maxBodyBytes ?? 16_384;
  }

  get wantsBody(): boolean {
    return this.opts.body !== undefined && this.opts.body !== false;
  }

  get wantsQuery(): boolean {
    return this.opts.query !== undefined && this.opts.query !== false;
  }

  skip(req: Req): boolean {
    try {
      return this.opts.skip?.(req) === true;
    } catch {
      return false;
    }
  }

  routeOf(req: Req, fallback: string | null): string | null {
    if (!this.opts.route) return fallback;
    try {
      return this.opts.route(req) ?? fallback;
    } catch {
      return fallback;
    }
  }

  /** A client-supplied request id when it looks like one (no log injection), otherwise a fresh UUID. */
  requestId(headerValue: unknown, frameworkId?: unknown): string {
    const v = Array.isArray(headerValue) ? headerValue[0] : headerValue;
    if (typeof v === 'string' && SAFE_ID.test(v)) return v;
    if ((typeof frameworkId === 'string' && SAFE_ID.test(frameworkId)) || typeof frameworkId === 'number') {
      return String(frameworkId);
    }
    return randomUUID();
  }

  get requestIdHeader(): string {
    return this.idHeader;
  }

  /** The actor, or null when the hook is absent, throws, or takes longer than `awaitTimeoutMs`. */
  async actorOf(req: Req): Promise<string | null> {
    if (!this.opts.actor) return null;
    try {
      const a = await this.auditor.within(Promise.resolve(this.opts.actor(req)));
      return a === null || a === undefined ? null : String(a);
    } catch {
      return null;
    }
  }

  /** An error as `{ name, message }`, scrubbed (or the name only with `errorMessages: false`). */
  errorOf(err: unknown): { name: string; message?: string } {
    return errorSummary(err, this.policy, this.opts.errorMessages !== false);
  }

  /** The entry data for one request. Never contains a denied header, body or query field. */
  build(f: RequestFacts, actor: string | null): Record<string, unknown> {
    const max = this.maxBodyBytes;
    const data: Record<string, unknown> = {
      event: this.opts.event ?? 'http_request',
      method: f.method.toUpperCase(),
      route: f.route,
      path: f.path,
      status: f.status,
      durationMs: Math.round(f.durationMs * 1000) / 1000,
      actor,
      requestId: f.requestId,
      ip: f.ip,
      at: new Date(f.startedAt).toISOString(),
    };
    const headers = this.policy.headers(f.headers, this.opts.headers ?? DEFAULT_RECORDED_HEADERS);
    if (headers && Object.keys(headers).length > 0) data.headers = headers;
    if (this.wantsQuery && f.query !== undefined)
      data.query = cappedValue(this.policy, f.query, this.opts.query, max);
    if (this.wantsBody && f.body !== undefined && f.body !== null && f.body !== '') {
      data.body = cappedValue(this.policy, f.body, this.opts.body, max);
    }
    if (f.error !== undefined && f.error !== null) data.error = this.errorOf(f.error);
    if (f.aborted) data.aborted = true;
    return data;
  }

  /**
   * Write (or queue) the record; in `await` mode resolves when it is written or queued, or after
   * `awaitTimeoutMs`. Never rejects, never throws: `facts` may be a function, evaluated in here, so a
   * framework getter that throws cannot fail the request either.
   */
  async commit(facts: RequestFacts | (() => RequestFacts), req: Req): Promise<void> {
    try {
      let data: Record<string, unknown>;
      let f: RequestFacts | undefined;
      try {
        f = typeof facts === 'function' ? facts() : facts;
        data = this.build(f, await this.actorOf(req));
      } catch (err) {
        data = {
          event: this.opts.event ?? 'http_request',
          method: typeof f?.method === 'string' ? f.method : null,
          path: typeof f?.path === 'string' ? f.path : null,
          status: typeof f?.status === 'number' ? f.status : null,
          buildError: { name: err instanceof Error ? err.name : 'Error' },
        };
      }
      await this.auditor.commit(data, this.awaitAppends);
    } catch {
      // Auditing never changes the outcome of the request.
    }
  }
}

/**
 * An error's name and (scrubbed, first 500 characters of its) message: never the stack, which leaks
 * paths and can hold secrets. `withMessage: false` keeps the name only.
 */
export function errorSummary(
  err: unknown,
  policy: SecretPolicy = DEFAULT_POLICY,
  withMessage = true,
): { name: string; message?: string } {
  let name = 'Error';
  let message = '';
  try {
    const fixed = bodyErrorMessage(err);
    if (fixed !== undefined) {
      name = err instanceof Error ? String(err.name).slice(0, 100) : 'Error';
      return withMessage ? { name, message: fixed } : { name };
    }
    if (err instanceof Error) {
      name = String(err.name).slice(0, 100);
      message = String(err.message);
    } else {
      message = String(err);
    }
  } catch {
    message = '';
  }
  if (!withMessage) return { name };
  return { name, message: policy.scrubText(message.slice(0, 500)) };
}

const DEFAULT_POLICY = new SecretPolicy();

/** The message recorded for an error raised while parsing the request body (its text is never kept). */
export const MALFORMED_BODY_MESSAGE = 'malformed request body';
/** The message recorded for a `JSON.parse` SyntaxError (Node quotes the input in its message). */
export const MALFORMED_JSON_MESSAGE = 'malformed JSON';

/**
 * Errors whose message quotes the request body: body parsers cut the body at an arbitrary point
 * (`…"assword": s3cr3t}" is not valid JSON`), so the scrubber cannot recognise the field name. Such
 * errors are recorded with a fixed message instead:
 * - body-parser / raw-body / co-body errors (`type: 'entity.parse.failed'`, Express, Koa bodyparsers,
 *   NestJS on Express) and any error carrying the request `body`;
 * - a `SyntaxError` from `JSON.parse` (Hono's `c.req.json()` in a handler, a handler's own parse).
 */
function bodyErrorMessage(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as { type?: unknown; body?: unknown; name?: unknown; message?: unknown };
  if (typeof e.type === 'string' && /^entity\.(parse\.failed|verify\.failed)$/.test(e.type)) {
    return MALFORMED_BODY_MESSAGE;
  }
  if ('body' in e && e.body !== undefined && e.body !== null) return MALFORMED_BODY_MESSAGE;
  if (err instanceof SyntaxError && /JSON/.test(String(e.message))) return MALFORMED_JSON_MESSAGE;
  return undefined;
}
