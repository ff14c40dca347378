/**
 * `signledger/nestjs` (NestJS 11): `SignLedgerModule.forRoot/forRootAsync`, `@InjectLedger()`,
 * `@Audited('transfer')` and the audit interceptor. Injection uses explicit tokens only, so it works
 * with builds that emit no decorator metadata (tsx, esbuild, vitest).
 */

export { type AuditFailureInfo, Auditor, type AuditorOptions } from '../shared/auditor.js';
export { createAuditController } from './controller.js';
export { Audited, type AuditedMeta, type AuditedOptions, InjectAuditor, InjectLedger } from './decorators.js';
export { SignLedgerAuditInterceptor } from './interceptor.js';
export { SignLedgerModule } from './module.js';
export type {
  NestAuditOptions,
  NestRequest,
  SignLedgerModuleAsyncOptions,
  SignLedgerModuleOptions,
} from './options.js';
export { AUDITED_METADATA, SIGNLEDGER_AUDITOR, SIGNLEDGER_LEDGER, SIGNLEDGER_OPTIONS } from './tokens.js';
