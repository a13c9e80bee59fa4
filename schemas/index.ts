export {
  LIMITS,
  TOOL_NAME_PATTERN,
  NAMESPACE_PATTERN,
  SEMVER_PATTERN,
  PERMISSION_PATTERN,
  DIGEST_PATTERN,
  KEY_ID_PATTERN,
  MANIFEST_META_KEY,
} from './limits.js';
export { jsonDepth, longestString, type JsonValue, type JsonObject } from './json.js';
export {
  ToolDefinitionSchema,
  ObjectJsonSchemaSchema,
  ToolAnnotationsSchema,
  ToolIconSchema,
  ToolExecutionSchema,
  type ToolDefinition,
  type ToolAnnotations,
} from './tool-definition.js';
export {
  Ed25519PublicJwkSchema,
  Ed25519PrivateJwkSchema,
  KeyIdSchema,
  type Ed25519PublicJwk,
  type Ed25519PrivateJwk,
} from './jwk.js';
export {
  MANIFEST_TYPE,
  NamespaceSchema,
  ToolIdSchema,
  VersionSchema,
  PermissionSchema,
  DigestSchema,
  ToolPolicySchema,
  SignedDefinitionSchema,
  ToolManifestSchema,
  ManifestSignatureSchema,
  SignedManifestSchema,
  type ToolPolicy,
  type ToolManifest,
  type ManifestSignature,
  type SignedManifest,
} from './manifest.js';
export { ProblemSchema, type Problem } from './problem.js';
export {
  LOG_EVENT_TYPE,
  InclusionProofSchema,
  ConsistencyProofSchema,
  SignedCheckpointSchema,
  LogEvidenceSchema,
  LogEventSchema,
  LogEntrySchema,
  type InclusionProof,
  type ConsistencyProof,
  type LogEvidence,
  type LogEvent,
  type LogEntry,
} from './log.js';
export {
  ATTESTATION_JWT_TYPE,
  VersionRecordSchema,
  KeyStatusSchema,
  VersionStatusSchema,
  VersionBundleSchema,
  AttestationClaimsSchema,
  type VersionRecord,
  type KeyStatus,
  type VersionStatus,
  type VersionBundle,
  type AttestationClaims,
} from './registry-api.js';
