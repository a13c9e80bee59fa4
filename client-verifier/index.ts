// The client verifier's public API. Adding a name here makes it public: do it on purpose.
export { VerificationError, isVerificationError, type VerificationErrorCode, type VerificationEvidence } from './errors.js';
export { createTrustRoot, type TrustRoot, type TrustRootConfig } from './trust-root.js';
export { RegistryClient, type RegistryClientOptions } from './registry-client.js';
export { fetchTrust, decodeTrustFile, trustRootOf, logKeyFingerprint, type FetchTrustOptions } from './trust.js';
export {
  expectedAttestation,
  verifyAttestation,
  verifyAttestationSet,
  checkAttestedClaims,
  type ExpectedAttestation,
  type AttestationOptions,
  type AttestedVersions,
} from './attestation.js';
export { verifyTool, verifyEvidence } from './verify-tool.js';
export { type VerifyContext, type VerifiedEvidence, type VerifiedTool, type LogChecker } from './evidence.js';
export { bundleSource, decodeBundle, decodeBundleSet, type BundleSource, type ValidatedBundle, type ValidatedBundleSet } from './bundles.js';
export { bundleTargets } from './steps/2-manifest.js';
export { versionPublishedLeaf } from './steps/10-log.js';
export { decidePin, toPin, type PinDecision, type PinContext, type PinSubject, type ApprovalCode } from './pins.js';
export { classifyChanges, describeChanges, describeEscalation, hintsOf, type ToolChanges, type HintChange, type HintName, type PreviousVersion } from './changes.js';
export { ToolVerifier, type ToolVerifierOptions, type CheckOptions, type StatefulLogChecker } from './verifier.js';
export { createLogChecker, type LogCheckerOptions } from './log-check.js';
export { decodeLockfile, serializeLockfile, emptyLockfile, pinsByToolName, MAX_LOCKFILE_BYTES } from './lockfile.js';
export {
  VerifiedClient,
  VerifiedClientGroup,
  type VerifiedClientOptions,
  type VerifiedCallOptions,
  type VerifiedToolList,
  type WithheldTool,
  type ToolCallPolicy,
  type ToolCallPolicyRequest,
} from './mcp/verified-client.js';
// The parts other helpers own, re-exported so a host imports one module.
export {
  LogVerificationError,
  CheckpointCache,
  verifyCheckpoint,
  verifyInclusionEvidence,
  CheckpointStore,
  type LogVerificationErrorCode,
  type VerifiedCheckpoint,
  type TrustedLogKey,
  type FetchConsistencyProof,
} from './log/index.js';
// Cedar is an optional peer dependency: the engine has its own entry point, `@etdi/client/policy`,
// so a host that uses no policy never installs or loads it. Only the types a call policy sees are here.
export type { InvocationRequest, PolicyDecision } from './policy/types.js';
