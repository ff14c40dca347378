import { type CallHandler, type ExecutionContext, HttpException, type NestInterceptor } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import {
  catchError,
  concat,
  concatMap,
  defer,
  EMPTY,
  from,
  ignoreElements,
  mergeMap,
  type Observable,
  of,
  throwError,
} from 'rxjs';
import type { Ledger } from '../../ledger/ledger.js';
import type { Auditor } from '../shared/auditor.js';
import { RequestAudit } from '../shared/request-audit.js';
import { cappedValue, pathOnly } from '../shared/secrets.js';
import type { AuditedMeta } from './decorators.js';
import type { NestRequest, SignLedgerModuleOptions } from './options.js';
import { AUDITED_METADATA } from './tokens.js';

/**
 * Records handlers marked `@Audited(action)` (or all, with `auditAll`): action, handler, outcome and the
 * request facts. Queued by default; with `audit.await` the response waits for the append (at most
 * `awaitTimeoutMs`). Neither a ledger failure nor an exception in the audit code changes the handler's
 * outcome. One entry per request: for a handler returning a stream (SSE, several emissions) it is
 * written at the first emission (or at the error, or at completion when nothing was emitted).
 */
export class SignLedgerAuditInterceptor implements NestInterceptor {
  private readonly audit: RequestAudit<NestRequest> | null;
  private readonly auditAll: boolean;

  constructor(
    private readonly reflector: Reflector,
    ledger: Ledger,
    auditor: Auditor,
    options: SignLedgerModuleOptions,
  ) {
    const a = options.audit;
    this.audit =
      a === false
        ? null
        : new RequestAudit<NestRequest>(ledger, {
            ...(a ?? {}),
            event: a?.event ?? 'audited_action',
            auditor,
          });
    this.auditAll = a !== false && a?.auditAll === true;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const meta = this.reflector.getAllAndOverride<AuditedMeta | undefined>(AUDITED_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    const audit = this.audit;
    if (!audit || (!meta && !this.auditAll) || context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const req = http.getRequest<NestRequest>();
    const res = http.getResponse<NestRequest>();
    if (audit.skip(req)) return next.handle();
    const startedAt = Date.now();
    const t0 = performance.now();
    const handler = `${context.getClass().name}.${context.getHandler().name}`;

    let recorded = false;
    const write = async (status: number, result: unknown, error: unknown): Promise<void> => {
      if (recorded) return;
      recorded = true;
      try {
        await writeOnce(status, result, error);
      } catch {
        // Auditing never changes the outcome of the handler.
      }
    };
    const writeOnce = async (status: number, result: unknown, error: unknown): Promise<void> => {
      const route = req.route?.path ?? req.routeOptions?.url ?? null;
      const facts = {
        method: String(req.method ?? ''),
        route: audit.routeOf(req, typeof route === 'string' ? route : null),
        path: pathOnly(String(req.originalUrl ?? req.url ?? '')),
        status,
        durationMs: performance.now() - t0,
        startedAt,
        requestId: audit.requestId(req.headers?.[audit.requestIdHeader], req.id),
        ip: req.ip ?? req.socket?.remoteAddress ?? null,
        headers: req.headers ?? {},
        query: audit.wantsQuery ? req.query : undefined,
        body: audit.wantsBody ? req.body : undefined,
        error,
      };
      let data: Record<string, unknown>;
      try {
        data = audit.build(facts, await audit.actorOf(req));
        data.action = meta?.action ?? handler;
        data.handler = handler;
        data.outcome = error === undefined ? 'success' : 'error';
        if (meta?.body && req.body !== undefined)
          data.body = cappedValue(audit.policy, req.body, meta.body, audit.maxBodyBytes);
        if (meta?.result && result !== undefined && error === undefined) {
          data.result = cappedValue(audit.policy, result, meta.result, audit.maxBodyBytes);
        }
      } catch (err) {
        data = {
          event: 'audited_action',
          action: meta?.action ?? handler,
          handler,
          method: facts.method,
          path: facts.path,
          status,
          outcome: error === undefined ? 'success' : 'error',
          buildError: { name: err instanceof Error ? err.name : 'Error' },
        };
      }
      await audit.auditor.commit(data, audit.awaitAppends);
    };
    const statusNow = (): number => {
      try {
        return Number(res?.statusCode ?? 200);
      } catch {
        return 200;
      }
    };

    // concatMap keeps the order of emissions while the first one waits for the append.
    return concat(
      next.handle().pipe(
        concatMap((value) =>
          recorded ? of(value) : from(write(statusNow(), value, undefined).then(() => value)),
        ),
        catchError((err: unknown) => {
          const status = err instanceof HttpException ? err.getStatus() : 500;
          return from(write(status, undefined, err)).pipe(mergeMap(() => throwError(() => err)));
        }),
      ),
      defer(() => (recorded ? EMPTY : from(write(statusNow(), undefined, undefined)).pipe(ignoreElements()))),
    );
  }
}
