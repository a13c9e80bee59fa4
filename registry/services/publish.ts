import {
  canonicalize,
  decodeSignedManifest,
  defaultBackend,
  nodeThreadpoolBackend,
  parseStrictJson,
  verifyManifestSignature,
  type VerifiedManifest,
} from '../../protocol/index.js';
import { validateToolPolicy } from '../../client-verifier/policy/index.js';
import { LOG_EVENT_TYPE, type Ed25519PublicJwk, type SignedManifest, type ToolPolicy } from '../../schemas/index.js';
import { RegistryError, toRegistryError } from '../errors.js';
import type { VersionRow } from '../store/store.js';
import type { PublishResult } from './publish-job.js';
import { isRevokedAt, requireWriter } from './auth.js';
import { isoNow, type Principal, type RegistryContext } from './context.js';

/** node:crypto (OpenSSL, the same verify as the default backend) on the thread pool. */
const VERIFY_BACKEND = nodeThreadpoolBackend ?? defaultBackend;

export type { PublishResult } from './publish-job.js';

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
  // strict I-JSON (duplicate keys, lone surrogates, big numbers), schema and limits
  let signed: SignedManifest;
  try {
    signed = decodeSignedManifest(raw);
  } catch (error) {
    throw toRegistryError(error) ?? error;
  }
  const manifest = signed.manifest;
  const namespace = manifest.provider; // the schema binds toolId = provider/definition.name
  if (principal.role === 'publisher' && principal.namespace !== namespace)
    throw new RegistryError(403, 'NAMESPACE_MISMATCH', `a publisher of ${principal.namespace} cannot publish ${manifest.toolId}`, {
      evidence: { tokenNamespace: principal.namespace, toolNamespace: namespace },
    });
  // a registered namespace has at least its first key: one read answers both questions
  const keyRows = ctx.store.listKeys(namespace);
  if (keyRows.length === 0 && ctx.store.getNamespace(namespace) === undefined)
    throw new RegistryError(404, 'NAMESPACE_NOT_FOUND', `namespace ${namespace} is not registered`);
  const now = ctx.now();
  const issuedAt = Date.parse(manifest.issuedAt);
  if (issuedAt > now + ctx.config.maxClockSkewSeconds * 1000)
    throw new RegistryError(422, 'ISSUED_IN_FUTURE', `issuedAt ${manifest.issuedAt} is in the future`, {
      evidence: { issuedAt: manifest.issuedAt, now: new Date(now).toISOString() },
    });
  const keys = new Map(keyRows.map((k) => [k.key_id, k]));
  // only keys trusted for this manifest verify it: active now, and not revoked at/before issuedAt
  const trusted = (keyId: string): boolean => {
    const key = keys.get(keyId);
    return key !== undefined && !isRevokedAt(key, now) && !isRevokedAt(key, issuedAt);
  };
  let verified: VerifiedManifest;
  try {
    // the client's own check (JCS bytes, digests, key ids); only the Ed25519 verify itself runs
    // on libuv's thread pool, so the event loop parses the next publishes meanwhile
    verified = await verifyManifestSignature(
      signed,
      (keyId) => (trusted(keyId) ? (parseStrictJson(keys.get(keyId)!.jwk) as Ed25519PublicJwk) : undefined),
      VERIFY_BACKEND,
    );
  } catch (error) {
    const revoked = signed.signatures.find((s) => keys.has(s.keyId) && !trusted(s.keyId));
    if (revoked !== undefined && error instanceof Error && 'code' in error && error.code === 'UNKNOWN_SIGNER')
      throw new RegistryError(403, 'KEY_REVOKED', `the manifest is signed by ${revoked.keyId}, revoked from ${keys.get(revoked.keyId)!.revoked_from}`, {
        evidence: { keyId: revoked.keyId, revokedFrom: keys.get(revoked.keyId)!.revoked_from, issuedAt: manifest.issuedAt },
      });
    throw toRegistryError(error) ?? error;
  }
  if (manifest.policy !== undefined) await validateManifestPolicy(manifest.policy);
  const definition = manifest.definition;
  return ctx.queue.submitPublish({
    namespace,
    toolId: manifest.toolId,
    version: manifest.version,
    name: definition.name,
    title: typeof definition.title === 'string' ? definition.title : null,
    description: typeof definition.description === 'string' ? definition.description : null,
    keyId: verified.keyId,
    issuedAtMs: issuedAt,
    manifestDigest: verified.manifestDigest,
    definitionDigest: verified.definitionDigest,
    signedManifest: canonicalize(signed),
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
