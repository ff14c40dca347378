export {
  type AuditFailureInfo,
  type AuditFailureReason,
  Auditor,
  type AuditorOptions,
  type AuditorStats,
  type FlushResult,
} from './auditor.js';
export {
  type Actor,
  errorSummary,
  RequestAudit,
  type RequestAuditOptions,
  type RequestFacts,
} from './request-audit.js';
export {
  AUDIT_ROUTES,
  AuditRouteHandlers,
  type AuditRouteKind,
  type AuditRoutesOptions,
  matchAuditRoute,
  type RouteInput,
  type RouteResult,
} from './routes.js';
export {
  capSize,
  DEFAULT_DENY,
  DEFAULT_DENY_EXACT,
  DEFAULT_DENY_TOKENS,
  DEFAULT_RECORDED_HEADERS,
  nameTokens,
  pathOnly,
  REDACTED,
  SecretPolicy,
  URL_HEADERS,
} from './secrets.js';
