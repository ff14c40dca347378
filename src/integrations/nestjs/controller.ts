import { Controller, Get, HttpException, Inject, Req, type Type } from '@nestjs/common';
import type { Ledger } from '../../ledger/ledger.js';
import { AUDIT_ROUTES, AuditRouteHandlers, type AuditRouteKind } from '../shared/routes.js';
import { Audited } from './decorators.js';
import type { NestRequest, SignLedgerModuleOptions } from './options.js';
import { SIGNLEDGER_LEDGER, SIGNLEDGER_OPTIONS } from './tokens.js';

/**
 * Build the read-only audit controller for `path`. Decorators are applied as plain calls so the
 * controller works without `experimentalDecorators` or emitted metadata.
 */
export function createAuditController(path: string): Type<unknown> {
  class SignLedgerAuditController {
    private readonly handlers: AuditRouteHandlers<NestRequest>;
    constructor(ledger: Ledger, options: SignLedgerModuleOptions) {
      this.handlers = new AuditRouteHandlers<NestRequest>(ledger, options.routes ?? {});
    }
    async run(kind: AuditRouteKind, req: NestRequest): Promise<unknown> {
      const r = await this.handlers.handle(kind, req, { params: req.params ?? {}, query: req.query ?? {} });
      if (r.status !== 200) throw new HttpException(r.body as Record<string, unknown>, r.status);
      return r.body;
    }
  }
  const proto = SignLedgerAuditController.prototype as unknown as Record<string, unknown>;
  for (const r of AUDIT_ROUTES) {
    const name = r.kind;
    proto[name] = function (this: SignLedgerAuditController, req: NestRequest) {
      return this.run(r.kind, req);
    };
    Object.defineProperty(proto[name], 'name', { value: name });
    const desc = Object.getOwnPropertyDescriptor(proto, name)!;
    Get(r.path.slice(1))(proto, name, desc);
    // Reads of the log are recorded (who read it, and who was refused) without `auditAll` too.
    Audited('audit_read')(proto, name, desc);
    Req()(proto, name, 0);
  }
  Inject(SIGNLEDGER_LEDGER)(SignLedgerAuditController, undefined as unknown as string, 0);
  Inject(SIGNLEDGER_OPTIONS)(SignLedgerAuditController, undefined as unknown as string, 1);
  Controller(path)(SignLedgerAuditController);
  return SignLedgerAuditController;
}
