import type { ModuleMetadata } from '@nestjs/common';
import type { Ledger } from '../../ledger/ledger.js';
import type { LedgerConfig } from '../../open.js';
import type { AuditorOptions } from '../shared/auditor.js';
import type { RequestAuditOptions } from '../shared/request-audit.js';
import type { AuditRoutesOptions } from '../shared/routes.js';

/** The HTTP request object of the platform in use (Express or Fastify). */
// biome-ignore lint/suspicious/noExplicitAny: the platform's request type is not known here
export type NestRequest = any;

export interface NestAuditOptions extends Omit<RequestAuditOptions<NestRequest>, 'auditor'>, AuditorOptions {
  /** Audit every handler, not only those marked `@Audited()` (default false). */
  auditAll?: boolean;
}

/** The seed's Django settings (`BACKEND`, `ENABLE_SIGNATURES`, `AUTO_VERIFY`) as module options. */
export interface SignLedgerModuleOptions extends LedgerConfig {
  /** Use this ledger instead of opening one (it is then not closed on shutdown). */
  ledger?: Ledger;
  /** Interceptor options, or `false` to record nothing. */
  audit?: NestAuditOptions | false;
  /** Options of the audit routes (mounted when `routesPath` is set). Without `authorize` they answer 403. */
  routes?: AuditRoutesOptions<NestRequest>;
  /** Mount the read-only audit controller at this path (e.g. `audit`). Default: not mounted. */
  routesPath?: string;
  /** Register the module globally (default true). */
  global?: boolean;
}

export interface SignLedgerModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  // biome-ignore lint/suspicious/noExplicitAny: Nest factories take whatever they inject
  useFactory: (...args: any[]) => SignLedgerModuleOptions | Promise<SignLedgerModuleOptions>;
  inject?: unknown[];
  /** The controller path must be known before the factory runs. */
  routesPath?: string;
  global?: boolean;
}
