/**
 * The read-only audit routes every integration mounts, framework-neutral: each adapter maps its
 * request to `RouteInput` and sends back `RouteResult`. Authorization denies by default: without an
 * `authorize` hook every call is answered 403.
 */

import type { Entry } from '../../entry/types.js';
import { CheckpointError, NotFoundError, SignLedgerError, ValidationError } from '../../errors.js';
import type { Ledger } from '../../ledger/ledger.js';
import type { InclusionProofData, SignedCheckpoint } from '../../verify/proofs.js';

export type AuditRouteKind = 'entries' | 'entry' | 'checkpoint' | 'verify';

/** Paths relative to the mount point. */
export const AUDIT_ROUTES: readonly { kind: AuditRouteKind; path: string }[] = Object.freeze([
  { kind: 'entries', path: '/entries' },
  { kind: 'entry', path: '/entries/:id' },
  { kind: 'checkpoint', path: '/checkpoint' },
  { kind: 'verify', path: '/verify' },
]);

export interface AuditRoutesOptions<Req> {
  /**
   * Decide whether this request may read the audit log. Return true to allow. Without this hook every
   * request is denied (403); a hook that throws denies too.
   */
  authorize?: (req: Req, route: AuditRouteKind) => boolean | Promise<boolean>;
  /** Page size when `limit` is not given (default 100). */
  defaultLimit?: number;
  /** Largest page (default 1,000). */
  maxLimit?: number;
  /**
   * `incremental` (default): /verify checks what was appended since the last successful run of this
   * process (the first run is full). `full`: every call re-verifies the whole log (O(n)).
   */
  verifyMode?: 'incremental' | 'full';
}

export interface RouteInput {
  params?: Record<string, string | undefined>;
  query?: Record<string, unknown>;
}

export interface RouteResult {
  status: number;
  body: unknown;
}

function firstString(v: unknown): string | undefined {
  if (Array.isArray(v)) return firstString(v[0]);
  return typeof v === 'string' ? v : undefined;
}

function intParam(q: Record<string, unknown>, name: string, dflt: number, max: number): number {
  const raw = firstString(q[name]);
  if (raw === undefined || raw === '') return dflt;
  if (!/^\d{1,15}$/.test(raw))
    throw new ValidationError(`${name} must be a non-negative integer`, { path: `/${name}` });
  return Math.min(Number(raw), max);
}

function fail(status: number, error: string, message: string): RouteResult {
  return { status, body: { error, message } };
}

export class AuditRouteHandlers<Req> {
  private readonly ledger: Ledger;
  private readonly opts: AuditRoutesOptions<Req>;

  constructor(ledger: Ledger, opts: AuditRoutesOptions<Req> = {}) {
    this.ledger = ledger;
    this.opts = opts;
  }

  /** Authorize, run and map errors to statuses. Never throws. */
  async handle(kind: AuditRouteKind, req: Req, input: RouteInput): Promise<RouteResult> {
    if (!(await this.allowed(kind, req))) {
      return fail(
        403,
        'forbidden',
        this.opts.authorize
          ? 'not allowed to read the audit log'
          : 'audit routes deny by default: configure an authorize hook',
      );
    }
    try {
      switch (kind) {
        case 'entries':
          return await this.entries(input.query ?? {});
        case 'entry':
          return await this.entry(input.params?.id ?? '');
        case 'checkpoint':
          return await this.checkpoint();
        case 'verify':
          return await this.verify();
      }
    } catch (err) {
      if (err instanceof ValidationError) return fail(400, 'bad_request', err.message);
      if (err instanceof NotFoundError) return fail(404, 'not_found', err.message);
      if (err instanceof SignLedgerError)
        return fail(503, err.code.toLowerCase(), 'the audit log is unavailable');
      return fail(500, 'internal', 'the audit log could not be read');
    }
  }

  private async allowed(kind: AuditRouteKind, req: Req): Promise<boolean> {
    if (!this.opts.authorize) return false;
    try {
      return (await this.opts.authorize(req, kind)) === true;
    } catch {
      return false;
    }
  }

  private async entries(q: Record<string, unknown>): Promise<RouteResult> {
    const max = this.opts.maxLimit ?? 1000;
    const limit = intParam(q, 'limit', Math.min(this.opts.defaultLimit ?? 100, max), max);
    const offset = intParam(q, 'offset', 0, Number.MAX_SAFE_INTEGER);
    const orderRaw = firstString(q.order) ?? 'asc';
    if (orderRaw !== 'asc' && orderRaw !== 'desc')
      throw new ValidationError('order must be asc or desc', { path: '/order' });
    const [entries, head] = await Promise.all([
      this.ledger.getEntries({ limit, offset, order: orderRaw }),
      this.ledger.backend.readHead(),
    ]);
    return { status: 200, body: { entries, offset, limit, order: orderRaw, total: head.size } };
  }

  private async entry(id: string): Promise<RouteResult> {
    let entry: Entry | null;
    if (/^\d{1,15}$/.test(id)) entry = await this.ledger.getEntryAt(Number(id));
    else if (id.length > 0 && id.length <= 128) entry = await this.ledger.getEntry(id);
    else throw new ValidationError('entry id must be an id or an index');
    if (!entry) throw new NotFoundError(`no entry ${id}`);
    // Prove against the latest signed checkpoint when it covers the entry, else the current tree.
    const cp = await this.ledger.latestCheckpoint();
    let checkpoint: SignedCheckpoint | null = null;
    let proof: InclusionProofData;
    if (cp && cp.size > entry.index) {
      checkpoint = cp;
      proof = await this.ledger.proveInclusion(entry.index, cp.size);
    } else {
      const head = await this.ledger.backend.readHead();
      try {
        proof = await this.ledger.proveInclusion(entry.index, head.size);
      } catch (err) {
        if (err instanceof CheckpointError) throw new NotFoundError(`entry ${id} is not in the tree yet`);
        throw err;
      }
    }
    return { status: 200, body: { entry, proof, checkpoint } };
  }

  private async checkpoint(): Promise<RouteResult> {
    const cp = await this.ledger.latestCheckpoint();
    if (!cp) return fail(404, 'not_found', 'no checkpoint has been signed yet');
    return { status: 200, body: { checkpoint: cp } };
  }

  private async verify(): Promise<RouteResult> {
    const report = await this.ledger.verify({ incremental: this.opts.verifyMode !== 'full' });
    // Every figure from the log the report verified (its size), not from a later getStats(): entries
    // appended meanwhile would pair a larger total with this run's entriesChecked. Entries never change,
    // so the first and last of the verified log are read by index.
    const [first, last] =
      report.size > 0
        ? await Promise.all([this.ledger.getEntryAt(0), this.ledger.getEntryAt(report.size - 1)])
        : [null, null];
    return {
      status: 200,
      body: {
        valid: report.ok,
        assurance: report.assurance,
        totalEntries: report.size,
        firstEntry: first?.timestamp.toISOString() ?? null,
        lastEntry: last?.timestamp.toISOString() ?? null,
        rootHash: report.rootHash,
        entriesChecked: report.entriesChecked,
        failure: report.failure,
      },
    };
  }
}

/** Match a path relative to the mount point against the audit routes (for routers without params). */
export function matchAuditRoute(
  path: string,
): { kind: AuditRouteKind; params: Record<string, string> } | null {
  const p = path.replace(/\/+$/, '') || '/';
  if (p === '/entries') return { kind: 'entries', params: {} };
  if (p === '/checkpoint') return { kind: 'checkpoint', params: {} };
  if (p === '/verify') return { kind: 'verify', params: {} };
  const m = /^\/entries\/([^/]+)$/.exec(p);
  if (m) {
    try {
      return { kind: 'entry', params: { id: decodeURIComponent(m[1]!) } };
    } catch {
      return null;
    }
  }
  return null;
}
