import { Inject, SetMetadata } from '@nestjs/common';
import { AUDITED_METADATA, SIGNLEDGER_AUDITOR, SIGNLEDGER_LEDGER } from './tokens.js';

export interface AuditedOptions {
  /** Record the request body: `true` or an allow-list of top-level fields (denied names are always redacted). */
  body?: boolean | readonly string[];
  /** Record the handler's return value (`true` or an allow-list of fields), redacted the same way. */
  result?: boolean | readonly string[];
}

export interface AuditedMeta extends AuditedOptions {
  action: string;
}

/** Mark a handler (or every handler of a controller) to be recorded as `action` by the audit interceptor. */
export function Audited(action: string, options: AuditedOptions = {}): MethodDecorator & ClassDecorator {
  if (typeof action !== 'string' || action.length === 0) throw new TypeError('@Audited needs an action name');
  return SetMetadata<string, AuditedMeta>(AUDITED_METADATA, { action, ...options });
}

/** Inject the module's Ledger (token `SIGNLEDGER_LEDGER`). */
export function InjectLedger(): PropertyDecorator & ParameterDecorator {
  return Inject(SIGNLEDGER_LEDGER);
}

/** Inject the module's Auditor (token `SIGNLEDGER_AUDITOR`): counters, `pending`, `flush()`. */
export function InjectAuditor(): PropertyDecorator & ParameterDecorator {
  return Inject(SIGNLEDGER_AUDITOR);
}
