export {
  type AuditFailureInfo,
  type AuditFailureReason,
  Auditor,
  type AuditorOptions,
  type AuditorStats,
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
  DEFAULT_RECORDED_HEADERS,
  pathOnly,
  REDACTED,
  SecretPolicy,
} from './secrets.js';
