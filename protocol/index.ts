export { EtdiError, ProtocolError, type ProtocolErrorCode, type SchemaIssue } from './errors.js';
export { ERROR_CODES, EXIT_CODES, isErrorCode, kindOfAnswer, type ErrorCode, type ErrorKind } from './error-codes.js';
export { parseStrictJson, type StrictJsonOptions } from './strict-json.js';
export { canonicalize, canonicalBytes } from './jcs.js';
export { sha256Digest, digestOf, definitionDigest, toSignedDefinition } from './digest.js';
export { sameJson } from './json-equal.js';
export { isSignatureVoid } from './key-revocation.js';
export { sha256 } from './hash.js';
export {
  toBase64,
  fromBase64,
  toBase64Url,
  fromBase64Url,
  toHex,
  fromHex,
  utf8,
  fromUtf8,
  concatBytes,
  bytesEqual,
} from './encoding.js';
export {
  defaultBackend,
  selectBackend,
  nodeBackend,
  nodeThreadpoolBackend,
  webCryptoBackend,
  nobleBackend,
  publicKeyOf,
  type Ed25519Backend,
  type Ed25519BackendName,
} from './ed25519.js';
export {
  jwkThumbprint,
  publicKeyBytes,
  privateKeySeed,
  toPublicJwk,
  generateKeyPair,
  type GeneratedKeyPair,
} from './jwk.js';
export {
  checkSchema,
  toSchemaIssues,
  decodeSignedManifest,
  canonicalManifest,
  signManifest,
  verifyManifestSignature,
  verifySignedManifest,
  manifestDigest,
  signBytes,
  verifyBytes,
  type VerifiedManifest,
  type KeyResolver,
  type ManifestKeyResolver,
  type ManifestClaims,
} from './manifest.js';
export { confusableSkeleton, confusableKeys, looksAlike, findLookalike } from './confusables.js';
export {
  HASH_SIZE,
  EMPTY_ROOT,
  leafHash,
  nodeHash,
  largestPowerOfTwoBelow,
  rootFromInclusionProof,
  verifyInclusion,
  verifyConsistency,
  merkleRoot,
} from './merkle.js';
export {
  NOTE_ED25519,
  MAX_NOTE_SIGNATURES,
  DEFAULT_MAX_NOTE_BYTES,
  isValidKeyName,
  noteKeyId,
  formatVerifierKey,
  parseVerifierKey,
  decodeNote,
  noteSignatureLine,
  assembleNote,
  signNote,
  verifyNote,
  type NoteVerifierKey,
  type NoteSignature,
  type DecodedNote,
  type VerifiedNote,
  type VerifyNoteOptions,
} from './signed-note.js';
export { formatCheckpoint, parseCheckpoint, type Checkpoint } from './checkpoint.js';
export { registrationRequest, tokenRequest, keyAddRequest, type StatementFrame } from './statements.js';
export { MCP_REGISTRY_AUTH_PATH, MCP_REGISTRY_RECORD_PATTERN, mcpRegistryRecord, mcpRegistryProof } from './mcp-registry-proof.js';
export {
  MAX_DECLARATIONS_MANIFEST_BYTES,
  contentHashOf,
  declarationEntryDigest,
  declarationsSignatureKid,
  digestOfContentHash,
  publisherNamespace,
  signedDeclarationDigests,
  toPinVersion,
  canonicalDeclarationsManifest,
  decodeSignedDeclarations,
  signDeclarationsManifest,
  verifyDeclarationsSignature,
  type VerifiedDeclarations,
  type DeclarationsKeyResolver,
} from './sep3140.js';
