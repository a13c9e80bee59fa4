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
export {
  type VerifyContext,
  type VerifiedEvidence,
  type ManifestEvidence,
  type PublishedDeclarationEvidence,
  type VerifiedTool,
  type LogChecker,
} from './evidence.js';
export { declarationTerms, recordTerms, toListedTool } from './signed-version.js';
export { bundleSource, decodeBundle, decodeBundleSet, type BundleSource, type ValidatedBundle, type ValidatedBundleSet } from './bundles.js';
export { bundleTargets } from './steps/2-manifest.js';
export { versionPublishedLeaf } from './steps/10-log.js';
export { decidePin, toPin, materialDigestOf, type PinDecision, type PinContext, type PinSubject, type SignedTerms, type ApprovalCode } from './pins.js';
export { classifyChanges, describeChanges, describeEscalation, hintsOf, type ToolChanges, type HintChange, type HintName, type PreviousVersion } from './changes.js';
export { ToolVerifier, type ToolVerifierOptions, type CheckOptions, type StatefulLogChecker, type DeclarationsOptions } from './verifier.js';
// SEP-3140 signed capability declarations (docs/VERIFIER.md, "SEP-3140 servers").
export { canonicalServerUri, protectedResourceMetadataUrl, discoverSigningKeys, type DiscoveryFetch, type DiscoveredKeys } from './sep3140/discovery.js';
export { publisherNamespace, toPinVersion } from '@etdi/protocol';
export type { PublisherTrustPolicy, TrustBasis } from './sep3140/trust-policy.js';
export {
  decodeTrustLabels,
  MOST_RESTRICTIVE_TRUST,
  type EffectiveTrustLabels,
  type DecodedTrustLabels,
  type TrustLabelName,
  type TrustLabelChange,
  type TrustEffect,
  type TrustEgress,
  type TrustDataSensitivity,
} from './sep3140/trust-labels.js';
export { isDeclaredTool, type DeclaredEvidence, type DeclaredTool, type DeclarationFacts } from './sep3140/declared-tool.js';
export type { TrustedDeclarations } from './sep3140/verify-manifest.js';
export { isLowRisk, type RiskApprovalRule } from './sep3140/risk-approval.js';
export { createLogChecker, type LogCheckerOptions } from './log-check.js';
export { decodeLockfile, serializeLockfile, emptyLockfile, pinsByToolName, MAX_LOCKFILE_BYTES } from './lockfile.js';
export {
  VerifiedClient,
  VerifiedClientGroup,
  type CheckedTool,
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
export type { InvocationRequest, PolicyDecision, TrustContext } from './policy/types.js';
