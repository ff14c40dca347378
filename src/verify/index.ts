/** Offline verification: no database, no driver. `import { verifyBundle, verifyInclusion } from 'signledger/verify'`. */

export {
  type BundleFiles,
  type BundleManifest,
  type BundleReport,
  formatProofFile,
  type ProofReport,
  parseProofFile,
  type VerifyBundleOptions,
  type VerifyProofOptions,
  verifyBundle,
  verifyProofFile,
} from './bundle.js';
export {
  type CheckpointInput,
  type ConsistencyProofData,
  computeEntryHash,
  entryLeafHash,
  type InclusionProofData,
  openSignedCheckpoint,
  type SignedCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from './proofs.js';
export type { AssuranceLevel, VerificationReport } from './report.js';
export {
  type SignatureChecker,
  type SignaturePolicy,
  StreamVerifier,
  type VerifiedState,
} from './stream-verifier.js';
