export { LogVerificationError, type LogVerificationErrorCode, type LogVerificationEvidence } from './errors.js';
export {
  CheckpointCache,
  verifyCheckpoint,
  verifyInclusionEvidence,
  type VerifiedCheckpoint,
  type LogVerifyOptions,
  type TrustedLogKey,
} from './verify.js';
export { CheckpointStore, type FetchConsistencyProof } from './checkpoint-store.js';
// The RFC 9162 proof checks, re-exported so that a host needs only this module for the log.
export { verifyInclusion, verifyConsistency, leafHash } from '@etdi/protocol';
