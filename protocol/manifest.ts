import type { z } from 'zod';
import {
  LIMITS,
  SignedManifestSchema,
  ToolManifestSchema,
  type Ed25519PrivateJwk,
  type Ed25519PublicJwk,
  type SignedManifest,
  type ToolManifest,
} from '@etdi/schemas';
import { defaultBackend, type Ed25519Backend } from './ed25519.js';
import { digestOf, sha256Digest } from './digest.js';
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from './encoding.js';
import { ProtocolError, type SchemaIssue } from './errors.js';
import { canonicalize } from './jcs.js';
import { jwkThumbprint, privateKeySeed, publicKeyBytes } from './jwk.js';
import { parseStrictJson } from './strict-json.js';

type ZodIssue = z.core.$ZodIssue;

/** The shallowest path among an option's issues: how far the value got into that option. */
const reach = (issues: readonly ZodIssue[]): number => Math.min(...issues.map((i) => i.path.length));

/**
 * An issue as what to fix: a union that matched no option (a version record is our manifest or a
 * SEP-3140 declaration) reports the issues of the option the value got furthest into (the
 * deepest shallowest issue; then the fewest), not zod's bare "Invalid input" at the union.
 */
function flatten(issue: ZodIssue, base: readonly PropertyKey[]): { path: PropertyKey[]; message: string }[] {
  const path = [...base, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const best = issue.errors.reduce((a, b) => (reach(b) > reach(a) || (reach(b) === reach(a) && b.length < a.length) ? b : a));
    if (best.length > 0) return best.flatMap((inner) => flatten(inner, path));
  }
  return [{ path, message: issue.message }];
}

export function toSchemaIssues(error: z.ZodError): SchemaIssue[] {
  return error.issues.flatMap((i) => flatten(i, [])).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

/** Checks `value` against `schema`; SCHEMA_INVALID with every issue otherwise. Returns `value` itself. */
export function checkSchema<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = toSchemaIssues(result.error);
    const first = issues[0];
    throw new ProtocolError('SCHEMA_INVALID', `${what} is invalid${first ? `: ${first.path || '(root)'}: ${first.message}` : ''}`, {
      cause: result.error,
      issues,
    });
  }
  // The value as received, not zod's copy: what is signed must be exactly what was sent.
  return value as T;
}

/**
 * Decodes a signed manifest from JSON text, bytes or an already parsed value: strict I-JSON
 * parsing, then the schema and size limits. It verifies no signature.
 */
export function decodeSignedManifest(input: string | Uint8Array | unknown): SignedManifest {
  const value = typeof input === 'string' || input instanceof Uint8Array ? parseStrictJson(input, { maxBytes: LIMITS.maxManifestBytes }) : input;
  return checkSchema(SignedManifestSchema, value, 'signed manifest');
}

/**
 * The signed bytes of a manifest, JCS(manifest) (RFC 8785), and JCS(definition), whose digest
 * pins and live tools are compared with. Produced by serialising, never taken from received
 * text. The definition is serialised once: "definition" sorts before every other member of a
 * manifest (the schema is strict: definition, issuedAt, permissions, policy, provider, toolId,
 * type, version), so JCS(manifest) is `{"definition":` + JCS(definition) + `,` + JCS(the other
 * members) without its opening brace.
 */
export function canonicalManifest(manifest: ToolManifest): { manifestBytes: Uint8Array; definitionBytes: Uint8Array } {
  const { definition, ...rest } = manifest;
  const definitionJcs = canonicalize(definition);
  const definitionBytes = utf8(definitionJcs);
  if (definitionBytes.length > LIMITS.maxDefinitionBytes)
    throw new ProtocolError('TOO_LARGE', `definition is ${definitionBytes.length} bytes, more than ${LIMITS.maxDefinitionBytes}`);
  return { manifestBytes: utf8(`{"definition":${definitionJcs},${canonicalize(rest).slice(1)}`), definitionBytes };
}

/** Signs a manifest with one or more private keys (JCS bytes, Ed25519). */
export async function signManifest(
  manifest: ToolManifest,
  keys: readonly Ed25519PrivateJwk[],
  backend: Ed25519Backend = defaultBackend,
): Promise<SignedManifest> {
  if (keys.length === 0) throw new RangeError('signManifest: keys must hold at least one private key');
  checkSchema(ToolManifestSchema, manifest, 'manifest');
  const bytes = canonicalManifest(manifest).manifestBytes;
  const signatures = [];
  for (const key of keys) {
    const sig = await backend.sign(privateKeySeed(key), bytes);
    signatures.push({ alg: 'EdDSA' as const, keyId: jwkThumbprint(key), sig: toBase64Url(sig) });
  }
  // The envelope in canonical key order (signatures' members too): JSON.stringify of it is JCS.
  return decodeSignedManifest({ manifest: JSON.parse(fromUtf8(bytes)) as ToolManifest, signatures });
}

export interface VerifiedManifest {
  signedManifest: SignedManifest;
  manifest: ToolManifest;
  /** The key whose signature verified. */
  keyId: string;
  manifestDigest: string;
  definitionDigest: string;
}

/** Where the verifier finds the public key for a key id; undefined when the key is not trusted. */
export type KeyResolver = (keyId: string) => Ed25519PublicJwk | undefined;

/**
 * Verifies the signatures of a decoded signed manifest over JCS(manifest).
 * - UNSIGNED: no signature at all;
 * - UNKNOWN_SIGNER: signatures exist but none is by a key `resolveKey` knows;
 * - BAD_SIGNATURE: a signature by a known key does not verify (one bad signature by a trusted
 *   key rejects the document even when another verifies: it means the bytes were changed).
 * Trust in the signer (namespace ownership, revocation) is the caller's next step.
 */
export async function verifyManifestSignature(
  signed: SignedManifest,
  resolveKey: KeyResolver,
  backend: Ed25519Backend = defaultBackend,
): Promise<VerifiedManifest> {
  if (signed.signatures.length === 0) throw new ProtocolError('UNSIGNED', 'the manifest carries no signature');
  return verifySignatures(signed, canonicalManifest(signed.manifest), resolveKey, backend);
}

/** What a {@link ManifestKeyResolver} learns of the manifest: copies, so it cannot change what is verified. */
export interface ManifestClaims {
  toolId: string;
  version: string;
  provider: string;
  issuedAt: string;
}

/**
 * A {@link KeyResolver} that also sees the decoded manifest's claims (a registry needs the
 * namespace and the issue time to know which keys it trusts). It may throw to refuse: its
 * error reaches the caller unchanged. A plain KeyResolver fits here too.
 */
export type ManifestKeyResolver = (keyId: string, claims: ManifestClaims) => Ed25519PublicJwk | undefined;

/**
 * Decodes and verifies a signed manifest in one step: {@link decodeSignedManifest}, then the
 * signatures over JCS(manifest) as {@link verifyManifestSignature} checks them, with the same
 * errors and result. The resolver sees copies of the claims only, so no caller code can change
 * the decoded manifest between its check and its verification.
 */
export async function verifySignedManifest(
  input: string | Uint8Array | unknown,
  resolveKey: ManifestKeyResolver,
  backend: Ed25519Backend = defaultBackend,
): Promise<VerifiedManifest> {
  const signed = decodeSignedManifest(input);
  return verifySignatures(signed, canonicalManifest(signed.manifest), resolveKey, backend);
}

interface ManifestBytes {
  manifestBytes: Uint8Array;
  definitionBytes: Uint8Array;
}

/** The signature loop shared by both entry points, over bytes computed by the caller. */
async function verifySignatures(
  signed: SignedManifest,
  { manifestBytes, definitionBytes }: ManifestBytes,
  resolveKey: ManifestKeyResolver,
  backend: Ed25519Backend,
): Promise<VerifiedManifest> {
  const m = signed.manifest;
  let verifiedBy: string | undefined;
  for (const s of signed.signatures) {
    const jwk = resolveKey(s.keyId, { toolId: m.toolId, version: m.version, provider: m.provider, issuedAt: m.issuedAt });
    if (jwk === undefined) continue;
    if (jwkThumbprint(jwk) !== s.keyId)
      throw new ProtocolError('INVALID_KEY', `key resolved for ${s.keyId} has thumbprint ${jwkThumbprint(jwk)}`);
    let sig: Uint8Array;
    try {
      sig = fromBase64Url(s.sig);
    } catch (cause) {
      throw new ProtocolError('BAD_SIGNATURE', `signature by ${s.keyId} is not base64url`, { cause });
    }
    if (!(await backend.verify(publicKeyBytes(jwk), manifestBytes, sig)))
      throw new ProtocolError('BAD_SIGNATURE', `signature by ${s.keyId} does not verify over the manifest`);
    verifiedBy ??= s.keyId;
  }
  if (verifiedBy === undefined)
    throw new ProtocolError(
      'UNKNOWN_SIGNER',
      `no signature is by a known key (signed by ${signed.signatures.map((s) => s.keyId).join(', ')})`,
    );
  return {
    signedManifest: signed,
    manifest: signed.manifest,
    keyId: verifiedBy,
    manifestDigest: sha256Digest(manifestBytes),
    definitionDigest: sha256Digest(definitionBytes),
  };
}

/** `sha256:` digest of JCS(manifest). */
export function manifestDigest(manifest: ToolManifest): string {
  return digestOf(manifest);
}

/** Signs arbitrary bytes with a private JWK (challenges, key statements). */
export async function signBytes(
  key: Ed25519PrivateJwk,
  message: Uint8Array,
  backend: Ed25519Backend = defaultBackend,
): Promise<string> {
  return toBase64Url(await backend.sign(privateKeySeed(key), message));
}

/** Verifies a base64url Ed25519 signature over bytes with a public JWK; false on any malformed input. */
export async function verifyBytes(
  key: Ed25519PublicJwk,
  message: Uint8Array,
  signature: string,
  backend: Ed25519Backend = defaultBackend,
): Promise<boolean> {
  let sig: Uint8Array;
  let pk: Uint8Array;
  try {
    sig = fromBase64Url(signature);
    pk = publicKeyBytes(key);
  } catch {
    return false;
  }
  return backend.verify(pk, message, sig);
}
