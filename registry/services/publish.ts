import {
  canonicalize,
  defaultBackend,
  nodeThreadpoolBackend,
  parseStrictJson,
  ProtocolError,
  verifySignedManifest,
  type Ed25519Backend,
  type ManifestClaims,
  type VerifiedManifest,
} from '../../protocol/index.js';
import { validateToolPolicy } from '../../client-verifier/policy/index.js';
import { LOG_EVENT_TYPE, type Ed25519PublicJwk, type ToolPolicy } from '../../schemas/index.js';
import { RegistryError, toRegistryError } from '../errors.js';
import type { KeyRow, VersionRow } from '../store/store.js';
import type { DeferredSignature, PublishResult } from './publish-job.js';
import { isRevokedAt, requireWriter } from './auth.js';
import { isoNow, type Principal, type RegistryContext } from './context.js';

/** node:crypto (OpenSSL, the same verify as the default backend) on the thread pool. */
const VERIFY_BACKEND = nodeThreadpoolBackend ?? defaultBackend;

export type { PublishResult } from './publish-job.js';

/** Parsed public JWKs of the store's (frozen, cached) key rows: one parse per key, not per publish. */
const parsedJwks = new WeakMap<KeyRow, Ed25519PublicJwk>();
const publicJwkOf = (key: KeyRow): Ed25519PublicJwk => {
  let jwk = parsedJwks.get(key);
  if (jwk === undefined) parsedJwks.set(key, (jwk = parseStrictJson(key.jwk) as Ed25519PublicJwk));
  return jwk;
};

/** A signature verifySignedManifest asked its backend to check, by a key the resolver trusted. */
interface AskedSignature {
  keyId: string;
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

/**
 * The backend verifySignedManifest runs with: it records each Ed25519 verification it is asked
 * for (the trusted keys' signatures, in order, over JCS(manifest)) and answers true, so that
 * publish() does the cryptography itself, right after, on the thread pool or on the write worker
 * (checkedSignatures). Nothing is stored or acknowledged before every recorded signature verified.
 */
function recordingBackend(asked: AskedSignature[], keyIds: string[]): Ed25519Backend {
  return {
    name: 'node',
    verify(publicKey, message, signature) {
      asked.push({ keyId: keyIds[asked.length]!, publicKey, message, signature });
      return Promise.resolve(true);
    },
    sign() {
      return Promise.reject(new Error('publish verifies, it never signs'));
    },
  };
}

const badSignature = (keyId: string): Error => {
  const error = new ProtocolError('BAD_SIGNATURE', `signature by ${keyId} does not verify over the manifest`);
  return toRegistryError(error) ?? error;
};

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
  /** The key ids the resolver trusted, in order: the ones whose signatures get verified. */
  const trustedIds: string[] = [];
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
    if (!trusted(keyId)) return undefined;
    trustedIds.push(keyId);
    return publicJwkOf(keys.get(keyId)!);
  };
  const signatures: AskedSignature[] = [];
  let verified: VerifiedManifest;
  try {
    // the client's own check from the received bytes (strict parse, schema, JCS — the bytes
    // themselves when they are canonical — digests, key ids); the Ed25519 verifications it asks
    // for are recorded and done below
    verified = await verifySignedManifest(raw, resolveKey, recordingBackend(signatures, trustedIds));
  } catch (error) {
    const revoked = asked.find((keyId) => keys?.has(keyId) === true && !trusted(keyId));
    if (revoked !== undefined && error instanceof Error && 'code' in error && error.code === 'UNKNOWN_SIGNER')
      throw new RegistryError(403, 'KEY_REVOKED', `the manifest is signed by ${revoked}, revoked from ${keys!.get(revoked)!.revoked_from}`, {
        evidence: { keyId: revoked, revokedFrom: keys!.get(revoked)!.revoked_from, issuedAt: issuedAtText },
      });
    throw toRegistryError(error) ?? error;
  }
  const { manifest, signedManifest: signed } = verified;
  const message = signatures[0]!.message; // JCS(manifest), the same bytes for every signature
  // JCS(signed manifest), what is stored and served: `{"manifest":` JCS(manifest) `,"signatures":`
  // JCS(signatures) `}` (the signed manifest has exactly these two members), with JCS(manifest)
  // the very bytes the signatures are checked over (their SHA-256 is verified.manifestDigest)
  const signedManifest = `{"manifest":${Buffer.from(message.buffer, message.byteOffset, message.byteLength).toString('utf8')},"signatures":${canonicalize(signed.signatures)}}`;
  // The write worker verifies the signatures first thing in its batch, before any other check
  // (publish-job.ts checkPublish): the same order of refusals, without a round trip through the
  // thread pool per publish. A policy is validated only after the signature (as before), and
  // without a worker the event loop's thread pool verifies them now.
  let deferred: DeferredSignature[] | undefined;
  if (ctx.queue.usesWorker && manifest.policy === undefined)
    deferred = signatures.map((s) => ({ keyId: s.keyId, publicKey: s.publicKey, signature: s.signature }));
  else
    for (const s of signatures) if (!(await VERIFY_BACKEND.verify(s.publicKey, s.message, s.signature))) throw badSignature(s.keyId);
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
    signedManifest,
    actor: principal.actor,
    signatures: deferred,
    manifestBytes: deferred === undefined ? undefined : message.byteLength,
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
