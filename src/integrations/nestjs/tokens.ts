/** Injection tokens: explicit strings, so injection never depends on emitted decorator metadata. */
export const SIGNLEDGER_LEDGER = 'SIGNLEDGER_LEDGER';
export const SIGNLEDGER_AUDITOR = 'SIGNLEDGER_AUDITOR';
export const SIGNLEDGER_OPTIONS = 'SIGNLEDGER_OPTIONS';
/** Reflect-metadata key set by `@Audited()`. */
export const AUDITED_METADATA = 'signledger:audited';
