import { createHash } from 'node:crypto';
import {
  canonicalize,
  defaultBackend,
  parseStrictJson,
  verifySignedManifest,
  type ManifestClaims,
  type VerifiedManifest,
} from '@etdi/protocol';
import { validateToolPolicy } from '@etdi/client/policy';
import { LOG_EVENT_TYPE, type Ed25519PublicJwk, type SignedManifest, type ToolPolicy } from '@etdi/schemas';
import { RegistryError, toRegistryError } from '../errors.js';
import type { KeyRow, VersionRow } from '../store/store.js';
import type { PublishResult } from './publish-job.js';
import { isRevokedAt, requireWriter } from './auth.js';
import { isoNow, type Principal, type RegistryContext } from './context.js';

/**
 * node:crypto (OpenSSL), synchronously on the event loop, as the protocol advises for a single
 * check. The thread pool was measured slower here: on two cores its wake-ups cost more CPU than
 * the verify saves, and the verify is then still on one of the same two cores. The write worker,
 * which commits every publish in turn, is the serial stage: the event loop (about 60 % busy)
 * takes the verify, the worker only the checks against the state and the writes.
 */
const VERIFY_BACKEND = defaultBackend;

export type { PublishResult } from './publish-job.js';

/** Parsed public JWKs of the store's (frozen, cached) key rows: one parse per key, not per publish. */
const parsedJwks = new WeakMap<KeyRow, Ed25519PublicJwk>();
const publicJwkOf = (key: KeyRow): Ed25519PublicJwk => {
  let jwk = parsedJwks.get(key);
  if (jwk === undefined) parsedJwks.set(key, (jwk = parseStrictJson(key.jwk) as Ed25519PublicJwk));
  return jwk;
};

const MANIFEST_OPEN = Buffer.from('{"manifest":');
const SIGNATURES_OPEN = Buffer.from(',"signatures":[');

/**
 * JCS(signed manifest), what is stored and served. A client sends JSON.stringify of
 * signManifest's output, whose manifest part is already JCS(manifest): when the bytes between
 * `{"manifest":` and the last `,"signatures":[` hash to the verified manifest digest, they are
 * JCS(manifest) (SHA-256(JCS(manifest)) is that digest, and a collision is out of reach), and the
 * stored text is `{"manifest":` those bytes `,"signatures":` JCS(signatures) `}` (the signed
 * manifest has exactly these two members): one SHA-256 instead of canonicalising the manifest
 * again. Any other text is canonicalised from the parsed, verified value.
 */
function storedText(raw: Uint8Array, signed: SignedManifest, manifestDigest: string): string {
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const end = bytes.lastIndexOf(SIGNATURES_OPEN);
  if (end > MANIFEST_OPEN.length && bytes.subarray(0, MANIFEST_OPEN.length).equals(MANIFEST_OPEN)) {
    const manifest = bytes.subarray(MANIFEST_OPEN.length, end);
    if (`sha256:${createHash('sha256').update(manifest).digest('hex')}` === manifestDigest)
      return `{"manifest":${manifest.toString('utf8')},"signatures":${canonicalize(signed.signatures)}}`;
  }
  return canonicalize(signed);
}

/**
 * Refuses a manifest whose Cedar policy does not parse/validate (422 POLICY_INVALID with
 * Cedar's diagnostics). The check is the client verifier's own (client-verifier/policy), so
 * the registry never accepts a policy a client would fail to load.
 */
export async function validateManifestPolicy(policy: ToolPolicy): Promise<void> {
  const result = await validateToolPolicy(policy);
  if (!result.ok)
    throw new RegistryError(422, 'POLICY_INVALID', 'the manifest policy is not a valid Cedar policy set', {
      errors: result.diagnostics.map((d) => ({ message: d.message })),
    });
}

/**
 * POST /v1/tools. Everything is checked before anything is stored; the state-dependent checks
 * run again inside the write job (publish-job.ts), against the state including earlier publishes
 * of the batch, on the write worker's connection when there is one (write-queue.ts).
 */
export async function publish(ctx: RegistryContext, principal: Principal, raw: Uint8Array): Promise<PublishResult> {
  if (principal.role === 'anonymous') requireWriter(principal, '');
  const now = ctx.now();
  // What the resolver learnt, for the checks after the signature and the KEY_REVOKED answer.
  let keys: Map<string, KeyRow> | undefined;
  let issuedAt = NaN;
  let issuedAtText = '';
  const trusted = (keyId: string): boolean => {
    const key = keys?.get(keyId);
    return key !== undefined && !isRevokedAt(key, now) && !isRevokedAt(key, issuedAt);
  };
  const asked: string[] = [];
  /**
   * Called after strict parsing, the schema and the limits, before any signature: the
   * authorisation and namespace checks run here, in the order they always had, and only keys
   * trusted for this manifest verify it (active now, not revoked at or before issuedAt).
   */
  const resolveKey = (keyId: string, claims: ManifestClaims): Ed25519PublicJwk | undefined => {
    if (keys === undefined) {
      const namespace = claims.provider; // the schema binds toolId = provider/definition.name
      if (principal.role === 'publisher' && principal.namespace !== namespace)
        throw new RegistryError(403, 'NAMESPACE_MISMATCH', `a publisher of ${principal.namespace} cannot publish ${claims.toolId}`, {
          evidence: { tokenNamespace: principal.namespace, toolNamespace: namespace },
        });
      // a registered namespace has at least its first key: one read answers both questions
      const keyRows = ctx.store.listKeys(namespace);
      if (keyRows.length === 0 && ctx.store.getNamespace(namespace) === undefined)
        throw new RegistryError(404, 'NAMESPACE_NOT_FOUND', `namespace ${namespace} is not registered`);
      issuedAtText = claims.issuedAt;
      issuedAt = Date.parse(claims.issuedAt);
      if (issuedAt > now + ctx.config.maxClockSkewSeconds * 1000)
        throw new RegistryError(422, 'ISSUED_IN_FUTURE', `issuedAt ${claims.issuedAt} is in the future`, {
          evidence: { issuedAt: claims.issuedAt, now: new Date(now).toISOString() },
        });
      keys = new Map(keyRows.map((k) => [k.key_id, k]));
    }
    asked.push(keyId);
    return trusted(keyId) ? publicJwkOf(keys.get(keyId)!) : undefined;
  };
  let verified: VerifiedManifest;
  try {
    // the client's own check from the received bytes (strict parse, schema, JCS — the bytes
    // themselves when they are canonical — digests, key ids, the signatures)
    verified = await verifySignedManifest(raw, resolveKey, VERIFY_BACKEND);
  } catch (error) {
    const revoked = asked.find((keyId) => keys?.has(keyId) === true && !trusted(keyId));
    if (revoked !== undefined && error instanceof Error && 'code' in error && error.code === 'UNKNOWN_SIGNER')
      throw new RegistryError(403, 'KEY_REVOKED', `the manifest is signed by ${revoked}, revoked from ${keys!.get(revoked)!.revoked_from}`, {
        evidence: { keyId: revoked, revokedFrom: keys!.get(revoked)!.revoked_from, issuedAt: issuedAtText },
      });
    throw toRegistryError(error) ?? error;
  }
  const { manifest, signedManifest: signed } = verified;
  if (manifest.policy !== undefined) await validateManifestPolicy(manifest.policy);
  const definition = manifest.definition;
  return ctx.queue.submitPublish({
    namespace: manifest.provider,
    toolId: manifest.toolId,
    version: manifest.version,
    name: definition.name,
    title: typeof definition.title === 'string' ? definition.title : null,
    description: typeof definition.description === 'string' ? definition.description : null,
    keyId: verified.keyId,
    issuedAtMs: issuedAt,
    manifestDigest: verified.manifestDigest,
    definitionDigest: verified.definitionDigest,
    signedManifest: storedText(raw, signed, verified.manifestDigest),
    actor: principal.actor,
  });
}

/** POST .../versions/:version/revoke: by the provider (reason required) or an administrator. */
export async function revokeVersion(
  ctx: RegistryContext,
  principal: Principal,
  toolId: string,
  version: string,
  reason: string,
): Promise<VersionRow> {
  const namespace = toolId.slice(0, toolId.indexOf('/'));
  requireWriter(principal, namespace);
  return ctx.queue.submit(() => {
    const row = ctx.store.getVersion(toolId, version);
    if (row === undefined) throw new RegistryError(404, 'VERSION_NOT_FOUND', `${toolId}@${version} is not published`);
    if (row.revoked_at !== null) throw new RegistryError(409, 'VERSION_ALREADY_REVOKED', `${toolId}@${version} is already revoked`);
    const at = isoNow(ctx);
    ctx.store.appendEvent(
      { type: LOG_EVENT_TYPE, kind: 'version.revoked', at, actor: principal.actor, namespace, toolId, version, reason },
      `${toolId}@${version}`,
    );
    ctx.store.revokeVersion(toolId, version, at, reason, principal.actor);
    ctx.invalidate();
    return ctx.store.getVersion(toolId, version)!;
  });
}
