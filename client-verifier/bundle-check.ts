import {
  BUNDLE_SET_TYPE,
  DIGEST_PATTERN,
  KEY_ID_PATTERN,
  LIMITS,
  MAX_BUNDLE_SET,
  NAMESPACE_PATTERN,
  SEMVER_PATTERN,
  TOOL_NAME_PATTERN,
  KeyStatusSchema,
  VersionRecordSchema,
  VersionStatusSchema,
  jsonShape,
  type LogEvidence,
} from '@etdi/schemas';
import { acceptsSignedManifest } from '@etdi/protocol';

/**
 * BundleSetSchema's acceptance (schemas/registry-api.ts), decided without zod, for a value
 * fresh from the strict parser (decodeBundleSet): plain objects, arrays, strings, finite
 * numbers, booleans and null, no duplicate keys.
 *
 * One-sided, like protocol's acceptsSignedManifest (which it uses for each bundle's signed
 * manifest, with that manifest's own measured shape): true only when every rule of the schema
 * holds, so zod would accept the value; false means "not shown here", and the caller then runs
 * zod, which decides and names every issue with its path (bundles.N.record...). So no refusal
 * can be lost here, only a fast acceptance missed. It exists because zod's walk of a
 * hundred-bundle set (an output copy and an issue list per object, about 2.3 ms) was the
 * largest part of decoding a listing's set on the main thread (issue #6).
 *
 * Kept in step with the schemas by test/verifier/bundle-check.test.ts (one refusal per rule,
 * each refused by zod and not accepted here, and random mutations of a real set): whoever
 * changes BundleSetSchema, VersionBundleSchema or the schemas they use changes this too.
 */
export function acceptsBundleSet(value: unknown): boolean {
  if (!isObject(value)) return false;
  let members = 0;
  for (const key in value) {
    if (!SET_KEYS.has(key)) return false; // strictObject
    members++;
  }
  const s = value as { type?: unknown; attestation?: unknown; bundles?: unknown; latest?: unknown; missing?: unknown };
  if (members !== SET_KEYS.size || s.type !== BUNDLE_SET_TYPE || typeof s.attestation !== 'string') return false;
  const { bundles, latest, missing } = s;
  if (!Array.isArray(bundles) || bundles.length > MAX_BUNDLE_SET) return false;
  if (!Array.isArray(latest) || latest.length > MAX_BUNDLE_SET) return false;
  if (!Array.isArray(missing) || missing.length > MAX_BUNDLE_SET) return false;
  for (let i = 0; i < latest.length; i++) if (!acceptsLatest(latest[i])) return false;
  for (let i = 0; i < missing.length; i++) if (!acceptsMissing(missing[i])) return false;
  for (let i = 0; i < bundles.length; i++) if (!acceptsVersionBundle(bundles[i])) return false;
  return true;
}

/** VersionBundleSchema's acceptance, one-sided (see acceptsBundleSet). */
function acceptsVersionBundle(value: unknown): boolean {
  if (!isObject(value)) return false;
  let members = 0;
  for (const key in value) {
    if (key !== 'type' && key !== 'record' && key !== 'status') return false; // strictObject
    members++;
  }
  const b = value as { type?: unknown; record?: unknown; status?: unknown };
  return members === 3 && b.type === 'etdi.bundle/v1' && acceptsRecord(b.record) && acceptsStatus(b.status);
}

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const isString = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;
/** zod 4's `z.number().int().min(0)` (a safe integer) and TreeSize (at most MAX_SAFE_INTEGER). */
const isIndex = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

const SET_KEYS = new Set(['type', 'attestation', 'bundles', 'latest', 'missing']);
const RECORD_KEYS = new Set(['toolId', 'version', 'provider', 'signedManifest', 'definitionDigest', 'manifestDigest', 'signerKeyId', 'publishedAt', 'publishedBy', 'leafIndex']);
const STATUS_KEYS = new Set(['toolId', 'version', 'status', 'revocation', 'signerKey', 'attestation', 'log']);
const KEY_STATUS_KEYS = new Set(['keyId', 'jwk', 'status', 'addedAt', 'revokedFrom', 'reason']);
const REVOCATION_KEYS = new Set(['reason', 'revokedAt', 'by']);
const MISSING_CODES = new Set(['TOOL_NOT_FOUND', 'VERSION_NOT_FOUND']);
const BASE64_HASH = /^[A-Za-z0-9+/]{43}=$/;
const JWK_X = /^[A-Za-z0-9_-]{43}$/;

/**
 * The pattern a `z.iso.datetime(...)` schema tests (its only check), read from that schema, so
 * this cannot drift from it; none, and nothing with that member is ever accepted here.
 */
function isoPattern(schema: unknown): RegExp | undefined {
  let s = schema as { _zod?: { def?: { pattern?: unknown; innerType?: unknown } } } | undefined;
  if (s?._zod?.def?.innerType !== undefined) s = s._zod.def.innerType as typeof s; // .optional()
  const pattern = s?._zod?.def?.pattern;
  return pattern instanceof RegExp && !pattern.global && !pattern.sticky ? pattern : undefined;
}
const PUBLISHED_AT = isoPattern(VersionRecordSchema.shape.publishedAt);
const ADDED_AT = isoPattern(KeyStatusSchema.shape.addedAt);
const REVOKED_FROM = isoPattern(KeyStatusSchema.shape.revokedFrom);
const REVOKED_AT = isoPattern(
  (VersionStatusSchema.shape.revocation as unknown as { _zod: { def: { innerType: { shape: { revokedAt: unknown } } } } })._zod.def.innerType.shape.revokedAt,
);
const isIso = (v: unknown, pattern: RegExp | undefined): boolean => pattern !== undefined && typeof v === 'string' && pattern.test(v);

/** ToolIdSchema: at most 257 characters, `<namespace>/<tool name>` split at the first "/". */
function isToolId(v: unknown): boolean {
  if (!isString(v, LIMITS.maxNamespaceLength + 1 + LIMITS.maxToolNameLength)) return false;
  const slash = v.indexOf('/');
  return slash > 0 && NAMESPACE_PATTERN.test(v.slice(0, slash)) && TOOL_NAME_PATTERN.test(v.slice(slash + 1));
}
const isVersion = (v: unknown): boolean => isString(v, LIMITS.maxVersionLength) && SEMVER_PATTERN.test(v);
const isNamespace = (v: unknown): boolean => isString(v, LIMITS.maxNamespaceLength) && NAMESPACE_PATTERN.test(v);
const isDigest = (v: unknown): boolean => typeof v === 'string' && DIGEST_PATTERN.test(v);
const isKeyId = (v: unknown): boolean => typeof v === 'string' && KEY_ID_PATTERN.test(v);

/** No member outside `keys` (strictObject); the required ones are then type-checked one by one. */
function hasOnly(o: Obj, keys: ReadonlySet<string>): boolean {
  for (const key in o) if (!keys.has(key)) return false; // strictObject
  return true;
}

function acceptsLatest(v: unknown): boolean {
  if (!isObject(v)) return false;
  for (const key in v) if (key !== 'toolId' && key !== 'version') return false;
  return isToolId(v.toolId) && isVersion(v.version);
}

function acceptsMissing(v: unknown): boolean {
  if (!isObject(v)) return false;
  for (const key in v) if (key !== 'toolId' && key !== 'version' && key !== 'code') return false;
  return isString(v.toolId, 300) && isString(v.version, 70) && typeof v.code === 'string' && MISSING_CODES.has(v.code);
}

function acceptsRecord(v: unknown): boolean {
  if (!isObject(v) || !hasOnly(v, RECORD_KEYS)) return false;
  const m = v.signedManifest;
  return (
    isToolId(v.toolId) &&
    isVersion(v.version) &&
    isNamespace(v.provider) &&
    isDigest(v.definitionDigest) &&
    isDigest(v.manifestDigest) &&
    isKeyId(v.signerKeyId) &&
    isIso(v.publishedAt, PUBLISHED_AT) &&
    isString(v.publishedBy, 256) &&
    isIndex(v.leafIndex) &&
    // the manifest's own measurement: its depth and longest string, not the set's
    m !== undefined &&
    acceptsSignedManifest(m, jsonShape(m, LIMITS.maxDepth + 1))
  );
}

function acceptsStatus(v: unknown): boolean {
  if (!isObject(v) || !hasOnly(v, STATUS_KEYS)) return false;
  return (
    isToolId(v.toolId) &&
    isVersion(v.version) &&
    (v.status === 'active' || v.status === 'revoked') &&
    (v.revocation === undefined || acceptsRevocation(v.revocation)) &&
    typeof v.attestation === 'string' &&
    acceptsKeyStatus(v.signerKey) &&
    acceptedLogEvidence(v.log) !== undefined
  );
}

function acceptsRevocation(v: unknown): boolean {
  return isObject(v) && hasOnly(v, REVOCATION_KEYS) && typeof v.reason === 'string' && isIso(v.revokedAt, REVOKED_AT) && typeof v.by === 'string';
}

function acceptsKeyStatus(v: unknown): boolean {
  if (!isObject(v) || !hasOnly(v, KEY_STATUS_KEYS)) return false;
  return (
    isKeyId(v.keyId) &&
    acceptsJwk(v.jwk) &&
    (v.status === 'active' || v.status === 'revoked') &&
    isIso(v.addedAt, ADDED_AT) &&
    (v.revokedFrom === undefined || isIso(v.revokedFrom, REVOKED_FROM)) &&
    (v.reason === undefined || typeof v.reason === 'string')
  );
}

/** Ed25519PublicJwkSchema: a plain (not strict) object, so other members are allowed. */
function acceptsJwk(v: unknown): boolean {
  if (!isObject(v) || Object.hasOwn(v, '__proto__')) return false; // left to zod
  return (
    v.kty === 'OKP' &&
    v.crv === 'Ed25519' &&
    typeof v.x === 'string' &&
    JWK_X.test(v.x) &&
    (v.kid === undefined || isKeyId(v.kid)) &&
    (v.alg === undefined || v.alg === 'EdDSA') &&
    (v.use === undefined || v.use === 'sig')
  );
}

/**
 * LogEvidenceSchema's acceptance, one-sided (see acceptsBundleSet): a copy of the evidence when
 * every rule holds, undefined otherwise (then ask zod). Each member is read once, into the copy
 * that was checked, so what the log check (log/verify.ts) uses later is what was accepted.
 */
export function acceptedLogEvidence(v: unknown): LogEvidence | undefined {
  if (!isObject(v)) return undefined;
  for (const key in v) if (key !== 'leafIndex' && key !== 'inclusionProof' && key !== 'checkpoint') return undefined;
  const { leafIndex, checkpoint, inclusionProof: p } = v;
  if (!isIndex(leafIndex) || !isString(checkpoint, 8192) || !isObject(p)) return undefined;
  for (const key in p) if (key !== 'leafIndex' && key !== 'treeSize' && key !== 'hashes') return undefined;
  const { leafIndex: proofLeaf, treeSize, hashes } = p;
  if (!isIndex(proofLeaf) || !isIndex(treeSize) || !Array.isArray(hashes) || hashes.length > 64) return undefined;
  const copied: string[] = [];
  for (let i = 0; i < hashes.length; i++) {
    const h: unknown = hashes[i];
    if (typeof h !== 'string' || !BASE64_HASH.test(h)) return undefined;
    copied.push(h);
  }
  return { leafIndex: leafIndex as number, checkpoint, inclusionProof: { leafIndex: proofLeaf as number, treeSize: treeSize as number, hashes: copied } };
}
