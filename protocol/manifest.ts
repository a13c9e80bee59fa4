import type { z } from 'zod';
import {
  LIMITS,
  SignedManifestSchema,
  ToolManifestSchema,
  type Ed25519PrivateJwk,
  type Ed25519PublicJwk,
  type SignedManifest,
  type ToolManifest,
  withJsonShapeBound,
} from '@etdi/schemas';
import { defaultBackend, type Ed25519Backend } from './ed25519.js';
import { digestOf, sha256Digest } from './digest.js';
import { fromBase64Url, fromUtf8, toBase64Url, utf8, utf8Into } from './encoding.js';
import { ProtocolError, type SchemaIssue } from './errors.js';
import { canonicalize, isCanonicalOrder } from './jcs.js';
import { jwkThumbprint, privateKeySeed, publicKeyBytes } from './jwk.js';
import { acceptsSignedManifest } from './manifest-check.js';
import { parseStrictJsonText, type StrictJsonText } from './strict-json.js';

export function toSchemaIssues(error: z.ZodError): SchemaIssue[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
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
  if (typeof input === 'string' || input instanceof Uint8Array)
    return checkParsedSignedManifest(parseStrictJsonText(input, { maxBytes: LIMITS.maxManifestBytes }));
  return checkSchema(SignedManifestSchema, input, 'signed manifest');
}

/**
 * The canonical bytes of a manifest and of its definition, computed once: "definition" sorts
 * before every other manifest member (the schema is strict), so JCS(manifest) is
 * `{"definition":` + JCS(definition) + `,` + JCS(the other members) without its `{`.
 */
export function canonicalManifest(manifest: ToolManifest): { manifestBytes: Uint8Array; definitionBytes: Uint8Array } {
  const { definition, ...rest } = manifest;
  const definitionJcs = canonicalize(definition);
  const restJcs = canonicalize(rest);
  // ASCII (as a rule): one buffer of the exact size, the definition a view into it.
  const jcs = '{"definition":' + definitionJcs + ',' + restJcs.slice(1);
  const exact = new Uint8Array(jcs.length);
  if (encoder.encodeInto(jcs, exact).read === jcs.length) {
    const definitionBytes = exact.subarray(DEFINITION_PREFIX.length, DEFINITION_PREFIX.length + definitionJcs.length);
    checkDefinitionSize(definitionBytes);
    return { manifestBytes: exact, definitionBytes };
  }
  // Otherwise one UTF-8 encoding into one buffer; a UTF-16 unit never takes more than 3 bytes.
  const buffer = new Uint8Array(DEFINITION_PREFIX.length + 3 * (definitionJcs.length + restJcs.length));
  buffer.set(DEFINITION_PREFIX);
  let end = DEFINITION_PREFIX.length + utf8Into(definitionJcs, buffer.subarray(DEFINITION_PREFIX.length));
  const definitionBytes = buffer.subarray(DEFINITION_PREFIX.length, end);
  checkDefinitionSize(definitionBytes);
  buffer[end++] = 0x2c; // ','
  end += utf8Into(restJcs.slice(1), buffer.subarray(end));
  return { manifestBytes: buffer.subarray(0, end), definitionBytes };
}

function checkDefinitionSize(definitionBytes: Uint8Array): void {
  if (definitionBytes.length > LIMITS.maxDefinitionBytes)
    throw new ProtocolError('TOO_LARGE', `definition is ${definitionBytes.length} bytes, more than ${LIMITS.maxDefinitionBytes}`);
}

const DEFINITION_PREFIX = utf8('{"definition":');
const encoder = new TextEncoder();

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
  // Hand back the envelope in canonical key order (signatures' members too): serialised with
  // JSON.stringify it is then JCS already, the verifier's fast path (verifySignedManifest).
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
 * Decodes and verifies a signed manifest in one step: {@link decodeSignedManifest}, then
 * {@link verifyManifestSignature}, with the same checks, errors and result. The faster way
 * when the manifest arrives as JSON text or bytes: text that is already canonical (RFC 8785,
 * which is what `JSON.stringify` of a `signManifest` result is) is proven so by the strict
 * parser's own walk, and the signed bytes are then the manifest's slice of the received text,
 * not a re-serialisation. Any other text is canonicalised as usual. The bytes verified are
 * never taken from the parsed objects' state after parsing, and no caller code sees those
 * objects before the result is returned: the resolver gets copies of the claims only.
 */
export function verifySignedManifest(
  input: string | Uint8Array | unknown,
  resolveKey: ManifestKeyResolver,
  backend: Ed25519Backend = defaultBackend,
): Promise<VerifiedManifest> {
  // Not an async function: it hands back verifySignatures' promise itself instead of a second
  // one resolved with it (two fewer microtask hops per verification); every error thrown
  // before that is still a rejection, never a synchronous throw.
  try {
    return decodeAndVerify(input, resolveKey, backend);
  } catch (error) {
    return Promise.reject(error);
  }
}

function decodeAndVerify(input: unknown, resolveKey: ManifestKeyResolver, backend: Ed25519Backend): Promise<VerifiedManifest> {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    const signed = decodeSignedManifest(input);
    return verifySignatures(signed, canonicalManifest(signed.manifest), resolveKey, backend);
  }
  const parsed = parseStrictJsonText(input, { maxBytes: LIMITS.maxManifestBytes });
  const signed = checkParsedSignedManifest(parsed);
  // The received text is the signed bytes when it is JSON.stringify(signed) and the manifest's
  // keys are in canonical order (the walk proved both when `canonical`; a signer that orders
  // the signatures' members otherwise costs one order check of the manifest).
  const sliceable = parsed.canonical || (parsed.stringified && isCanonicalOrder(signed.manifest));
  const bytes = (sliceable ? sliceCanonicalManifest(parsed.text, input, signed) : undefined) ?? canonicalManifest(signed.manifest);
  return verifySignatures(signed, bytes, resolveKey, backend);
}

/**
 * The schema check of a freshly parsed signed manifest. The parse measured the document, so the
 * definition's limits need no second walk; a document the allocation-free check accepts is one
 * zod accepts (see acceptsSignedManifest); any other goes through zod, which decides and names
 * the issues.
 */
function checkParsedSignedManifest(parsed: StrictJsonText): SignedManifest {
  const { value, shape } = parsed;
  if (shape === undefined) return checkSchema(SignedManifestSchema, value, 'signed manifest');
  if (acceptsSignedManifest(value, shape)) return value as SignedManifest;
  return withJsonShapeBound(shape, () => checkSchema(SignedManifestSchema, value, 'signed manifest'));
}

interface ManifestBytes {
  manifestBytes: Uint8Array;
  definitionBytes: Uint8Array;
}

const ENVELOPE_PREFIX = '{"manifest":{"definition":';
const MANIFEST_START = '{"manifest":'.length;
const DEFINITION_START = ENVELOPE_PREFIX.length;

/**
 * JCS(manifest) and JCS(definition) as slices of a text proven to be JSON.stringify(signed)
 * with the manifest in canonical key order (see parseStrictJsonText), so that the manifest's
 * slice is JSON.stringify(manifest) = JCS(manifest). The text must open with the manifest and
 * the manifest with its definition (else undefined: the caller canonicalises). Where each
 * ends is found without serialising anything long:
 * - the manifest ends at the last `,"signatures":[` of the text: what follows it holds only
 *   the signatures' members, whose names and values (schema-checked: "EdDSA", base64url)
 *   cannot spell that;
 * - without a policy, the definition ends at the last `,"issuedAt":"` of the manifest: the
 *   members after it are schema-checked strings and an array of strings, none of which holds
 *   a `"` (the pattern needs a key "issuedAt" followed by a string). A policy may hold
 *   anything in its Cedar schema, so then the length of the members after the definition,
 *   each stringified on its own, says where it ends.
 * Either way the text has a `,` there, and any other boundary would cut a JSON value short:
 * such bytes are no manifest's JCS and would fail the signature and every digest comparison.
 */
function sliceCanonicalManifest(text: string, input: string | Uint8Array, signed: SignedManifest): ManifestBytes | undefined {
  if (!text.startsWith(ENVELOPE_PREFIX)) return undefined;
  const manifestEnd = text.lastIndexOf(',"signatures":[');
  const definitionEnd =
    signed.manifest.policy === undefined
      ? text.lastIndexOf(',"issuedAt":"', manifestEnd)
      : manifestEnd - tailLength(signed.manifest, 'definition');
  if (definitionEnd <= DEFINITION_START || text.charCodeAt(definitionEnd) !== 0x2c) return undefined;
  let manifestBytes: Uint8Array;
  if (typeof input !== 'string' && input.length === text.length) {
    // ASCII (one byte per UTF-16 unit): offsets in the text are offsets in the bytes. A copy,
    // so that a caller reusing its buffer cannot change the bytes while the verify is pending.
    manifestBytes = input.slice(MANIFEST_START, manifestEnd);
  } else manifestBytes = utf8Pooled(text.slice(MANIFEST_START, manifestEnd));
  const tailBytes =
    manifestBytes.length === manifestEnd - MANIFEST_START ? manifestEnd - definitionEnd : utf8(text.slice(definitionEnd, manifestEnd)).length;
  const definitionBytes = manifestBytes.subarray(DEFINITION_START - MANIFEST_START, manifestBytes.length - tailBytes);
  if (definitionBytes.length > LIMITS.maxDefinitionBytes)
    throw new ProtocolError('TOO_LARGE', `definition is ${definitionBytes.length} bytes, more than ${LIMITS.maxDefinitionBytes}`);
  return { manifestBytes, definitionBytes };
}

/**
 * utf8(), but ASCII text goes into a slab shared by successive calls, as Node's Buffer pool
 * does: one ArrayBuffer per 64 KiB instead of one per manifest. Each call gets bytes no other
 * call is given; a slab is freed when no view of it is left.
 */
function utf8Pooled(text: string): Uint8Array {
  if (text.length > SLAB_SIZE / 8) return utf8(text);
  if (SLAB_SIZE - slabUsed < text.length) {
    slab = new Uint8Array(SLAB_SIZE);
    slabUsed = 0;
  }
  const view = slab.subarray(slabUsed, slabUsed + text.length);
  if (encoder.encodeInto(text, view).read !== text.length) return utf8(text); // not ASCII: the view is left unused
  slabUsed += (text.length + 7) & ~7;
  return view;
}
const SLAB_SIZE = 64 * 1024;
let slab = new Uint8Array(SLAB_SIZE);
let slabUsed = 0;

/** Length of JSON.stringify(obj) after its first member, `first`: `,"k":v` for each other member, and `}`. */
function tailLength(obj: object, first: string): number {
  let n = 1;
  for (const key in obj) {
    if (key === first) continue;
    n += 2 + JSON.stringify(key).length + JSON.stringify((obj as Record<string, unknown>)[key]).length;
  }
  return n;
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
