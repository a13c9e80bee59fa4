/**
 * SEP-3140 primitives ("Signed Capability Declarations & Trustworthy Trust Labels",
 * modelcontextprotocol/modelcontextprotocol seps/0000-MCP-Signed-Capability-Declarations-and-Trust-Labels.md):
 * a declaration's `contentHash`, and the capability manifest's detached JWS over its JCS bytes.
 * Shared by the provider helper (signing), the client verifier and the registry that accepts
 * SEP-3140 manifests as publishes: the same bytes everywhere.
 */
import { CompactSign, flattenedVerify, importJWK, type CryptoKey } from 'jose';
import {
  CONTENT_HASH_PATTERN,
  DeclarationsJwsHeaderSchema,
  DeclarationsManifestSchema,
  DeclarationsSigningKeySchema,
  NAMESPACE_PATTERN,
  SignedDeclarationsManifestSchema,
  type DeclarationEntry,
  type DeclarationsManifest,
  type DeclarationsSigningKey,
  type Ed25519PrivateJwk,
  type SignedDeclaration,
  type SignedDeclarationsManifest,
} from '@etdi/schemas';
import { digestOf, sha256Digest } from './digest.js';
import { fromBase64Url, fromUtf8, toBase64Url, toHex } from './encoding.js';
import { ProtocolError } from './errors.js';
import { sha256 } from './hash.js';
import { canonicalBytes } from './jcs.js';
import { jwkThumbprint, privateKeySeed } from './jwk.js';
import { checkSchema } from './manifest.js';
import { parseStrictJson } from './strict-json.js';

/** Largest `declarations/manifest` result accepted, in bytes of JSON text (1,024 tools fit). */
export const MAX_DECLARATIONS_MANIFEST_BYTES = 256 * 1024;

/** The declaration as hashed: every member but `contentHash` (SEP-3140, "Per-declaration integrity"). */
function withoutContentHash(declaration: object): Record<string, unknown> {
  const { contentHash: _ignored, ...rest } = declaration as Record<string, unknown>;
  return rest;
}

/**
 * `sha256-<base64url>` of JCS(the declaration without its `contentHash`). Throws ProtocolError
 * (NOT_CANONICALIZABLE) for a value with no canonical form.
 */
export function contentHashOf(declaration: object): string {
  return `sha256-${toBase64Url(sha256(canonicalBytes(withoutContentHash(declaration))))}`;
}

/**
 * The project's `sha256:<hex>` digest of the same bytes a `contentHash` names, so that pins and
 * the audit trail speak one digest format for both kinds of signed tools. RangeError for a
 * string that is not a SEP-3140 content hash.
 */
export function digestOfContentHash(contentHash: string): string {
  if (!CONTENT_HASH_PATTERN.test(contentHash)) throw new RangeError(`digestOfContentHash: "${contentHash}" is not sha256-<base64url>`);
  return `sha256:${toHex(fromBase64Url(contentHash.slice('sha256-'.length)))}`;
}

/** The signed bytes of a capability manifest: JCS (RFC 8785) of the manifest as received. */
export function canonicalDeclarationsManifest(manifest: DeclarationsManifest): Uint8Array {
  return canonicalBytes(manifest);
}

/**
 * Decodes a `declarations/manifest` result from JSON text, bytes or a parsed value: strict
 * I-JSON, the size limit, then SignedDeclarationsManifestSchema (SCHEMA_INVALID). It verifies no
 * signature (see {@link verifyDeclarationsSignature}).
 */
export function decodeSignedDeclarations(input: string | Uint8Array | unknown): SignedDeclarationsManifest {
  const value =
    typeof input === 'string' || input instanceof Uint8Array ? parseStrictJson(input, { maxBytes: MAX_DECLARATIONS_MANIFEST_BYTES }) : input;
  return checkSchema(SignedDeclarationsManifestSchema, value, 'signed capability manifest');
}

/**
 * Signs a capability manifest: a compact JWS (EdDSA, `kid` in the protected header) over
 * JCS(manifest), with the payload detached (RFC 7515 appendix F). `kid` is the publisher's name
 * for the key in its JWKS.
 */
export async function signDeclarationsManifest(manifest: DeclarationsManifest, key: Ed25519PrivateJwk, kid: string): Promise<SignedDeclarationsManifest> {
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > 256) throw new TypeError('signDeclarationsManifest: kid must be a non-empty string of at most 256 characters');
  checkSchema(DeclarationsManifestSchema, manifest, 'capability manifest');
  privateKeySeed(key); // INVALID_KEY unless d and x are one Ed25519 key
  const privateKey = (await importJWK({ kty: 'OKP', crv: 'Ed25519', x: key.x, d: key.d }, 'EdDSA')) as CryptoKey;
  const bytes = canonicalDeclarationsManifest(manifest);
  const jws = await new CompactSign(bytes).setProtectedHeader({ alg: 'EdDSA', kid }).sign(privateKey);
  const [header, , signature] = jws.split('.');
  return { manifest: JSON.parse(fromUtf8(bytes)) as DeclarationsManifest, signature: `${header}..${signature}` };
}

/** What a verified manifest proves: the manifest, the key that signed it, the digest of the signed bytes. */
export interface VerifiedDeclarations {
  signed: SignedDeclarationsManifest;
  manifest: DeclarationsManifest;
  /** The publisher's name for the key (the JWS `kid`). */
  kid: string;
  /** The RFC 7638 thumbprint of the key that verified: what pins record as the signer. */
  keyId: string;
  /** `sha256:` digest of JCS(manifest). */
  manifestDigest: string;
}

/** Where the verifier finds the publisher's key for a JWS `kid`; undefined when the key set has none. */
export type DeclarationsKeyResolver = (kid: string) => DeclarationsSigningKey | undefined;

/** The protected header, decoded only to learn the `kid` (jose checks it again when verifying). */
function decodeHeader(signature: string): { alg: 'EdDSA' | 'Ed25519'; kid: string } {
  const encoded = signature.slice(0, signature.indexOf('.'));
  let value: unknown;
  try {
    value = parseStrictJson(fromBase64Url(encoded), { maxBytes: 2048 });
  } catch (cause) {
    throw new ProtocolError('BAD_SIGNATURE', 'the JWS protected header is not base64url JSON', { cause });
  }
  const header = DeclarationsJwsHeaderSchema.safeParse(value);
  if (!header.success) throw new ProtocolError('BAD_SIGNATURE', 'the JWS protected header must name alg EdDSA and a kid', { cause: header.error });
  return header.data;
}

/** The `kid` of a manifest's JWS (BAD_SIGNATURE for a malformed header): which key to look up. */
export function declarationsSignatureKid(signature: string): string {
  return decodeHeader(signature).kid;
}

/**
 * Verifies the detached JWS of a decoded manifest over JCS(manifest) (SEP-3140 client step 1):
 * - UNKNOWN_SIGNER: the `kid` names no key `resolveKey` knows (a JWS by a key not in the JWKS);
 * - INVALID_KEY: the key named is not an Ed25519 public key;
 * - BAD_SIGNATURE: a malformed header, an algorithm other than EdDSA, a `crit` parameter, or a
 *   signature that does not verify over these bytes.
 * Whether the signer is trusted (pinned, allow-listed, first use) is the caller's next step.
 */
export async function verifyDeclarationsSignature(signed: SignedDeclarationsManifest, resolveKey: DeclarationsKeyResolver): Promise<VerifiedDeclarations> {
  const { alg, kid } = decodeHeader(signed.signature);
  const candidate = resolveKey(kid);
  if (candidate === undefined) throw new ProtocolError('UNKNOWN_SIGNER', `the manifest is signed by key "${kid}", which the publisher's key set does not hold`);
  const parsedKey = DeclarationsSigningKeySchema.safeParse(candidate);
  if (!parsedKey.success) throw new ProtocolError('INVALID_KEY', `key "${kid}" is not an Ed25519 public JWK`, { cause: parsedKey.error });
  const bytes = canonicalDeclarationsManifest(signed.manifest);
  const [header, , sig] = signed.signature.split('.');
  try {
    const key = (await importJWK({ kty: 'OKP', crv: 'Ed25519', x: parsedKey.data.x }, alg)) as CryptoKey;
    await flattenedVerify({ protected: header!, payload: toBase64Url(bytes), signature: sig! }, key, { algorithms: ['EdDSA', 'Ed25519'] });
  } catch (cause) {
    throw new ProtocolError('BAD_SIGNATURE', `the manifest's signature by key "${kid}" does not verify over its JCS bytes (${(cause as { code?: string }).code ?? 'invalid'})`, { cause });
  }
  return { signed, manifest: signed.manifest, kid, keyId: jwkThumbprint(parsedKey.data), manifestDigest: sha256Digest(bytes) };
}

/**
 * The namespace of a publisher: its URI's host, reversed (`https://publisher.example/x.json` →
 * `example.publisher`), as the official MCP Registry names servers by domain. It names the
 * publisher's tools in pins (`<namespace>/<tool>`). Undefined when the host is not a DNS name
 * of two labels or more (an address, `localhost`): the host then configures the provider.
 */
export function publisherNamespace(publisher: string): string | undefined {
  let host: string;
  try {
    host = new URL(publisher).hostname;
  } catch {
    return undefined;
  }
  const labels = host.split('.').reverse();
  // an IPv4 address is not a domain (no top-level domain is all digits): `1.0.0.127` names no one
  if (/^\d+$/.test(labels[0] ?? '')) return undefined;
  const namespace = labels.join('.');
  return NAMESPACE_PATTERN.test(namespace) ? namespace : undefined;
}

/** `"3"` → `"3.0.0"`; a semver version stays as it is (DeclarationVersionSchema accepts only these two). */
export function toPinVersion(declared: string): string {
  return /^\d+$/.test(declared) ? `${declared}.0.0` : declared;
}

/** `sha256:` digest of what one tool's entry of a manifest says, with its publisher: the pins' `manifestDigest`. */
export function declarationEntryDigest(publisher: string, entry: { name: string; version: string; contentHash: string }): string {
  return digestOf({ publisher, name: entry.name, version: entry.version, contentHash: entry.contentHash });
}

/**
 * What a tool's signed declaration (SignedDeclarationSchema: a manifest, its JWS, one declaration)
 * proves about that tool, computed from the declaration itself: its manifest entry (which must
 * name the declaration's version and the hash of its content), the `definitionDigest` (hex of the
 * content hash) and the `manifestDigest` (declarationEntryDigest). DEFINITION_MISMATCH when the
 * declaration is not the one the manifest lists. The JWS is not checked here.
 */
export function signedDeclarationDigests(signed: SignedDeclaration): { entry: DeclarationEntry; definitionDigest: string; manifestDigest: string } {
  const { manifest, declaration } = signed;
  const contentHash = contentHashOf(declaration);
  const entry = manifest.tools.find((t) => t.name === declaration.name);
  if (entry === undefined || entry.contentHash !== contentHash || entry.version !== declaration.version || declaration.contentHash !== contentHash)
    throw new ProtocolError('DEFINITION_MISMATCH', `declaration "${declaration.name}" is not the one its manifest signs (its content hashes to ${contentHash})`);
  return { entry, definitionDigest: digestOfContentHash(contentHash), manifestDigest: declarationEntryDigest(manifest.publisher, entry) };
}
