export { ProtocolError, type ProtocolErrorCode, type SchemaIssue } from './errors.js';
export { parseStrictJson, type StrictJsonOptions } from './strict-json.js';
export { canonicalize, canonicalBytes } from './jcs.js';
export { sha256Digest, digestOf, definitionDigest, toSignedDefinition } from './digest.js';
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
  signManifest,
  verifyManifestSignature,
  manifestDigest,
  signBytes,
  verifyBytes,
  type VerifiedManifest,
  type KeyResolver,
} from './manifest.js';
export { confusableSkeleton, findLookalike } from './confusables.js';
