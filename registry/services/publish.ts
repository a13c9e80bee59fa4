import semver from 'semver';
import { canonicalize, decodeSignedManifest, parseStrictJson, verifyManifestSignature, type VerifiedManifest } from '../../protocol/index.js';
import { validateToolPolicy } from '../../client-verifier/policy/index.js';
import { LOG_EVENT_TYPE, type Ed25519PublicJwk, type SignedManifest, type ToolPolicy } from '../../schemas/index.js';
import { RegistryError, toRegistryError } from '../errors.js';
import type { VersionRow } from '../store/store.js';
import { isRevokedAt, requireWriter } from './auth.js';
import { isoNow, type Principal, type RegistryContext } from './context.js';

export interface PublishResult {
  /** false when the same content was already published (idempotent republish). */
  created: boolean;
  row: VersionRow;
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
 * run again inside the write job, against the state including earlier publishes of the batch.
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
  if (ctx.store.getNamespace(namespace) === undefined)
    throw new RegistryError(404, 'NAMESPACE_NOT_FOUND', `namespace ${namespace} is not registered`);
  const now = ctx.now();
  const issuedAt = Date.parse(manifest.issuedAt);
  if (issuedAt > now + ctx.config.maxClockSkewSeconds * 1000)
    throw new RegistryError(422, 'ISSUED_IN_FUTURE', `issuedAt ${manifest.issuedAt} is in the future`, {
      evidence: { issuedAt: manifest.issuedAt, now: new Date(now).toISOString() },
    });
  const keys = new Map(ctx.store.listKeys(namespace).map((k) => [k.key_id, k]));
  // only keys trusted for this manifest verify it: active now, and not revoked at/before issuedAt
  const trusted = (keyId: string): boolean => {
    const key = keys.get(keyId);
    return key !== undefined && !isRevokedAt(key, now) && !isRevokedAt(key, issuedAt);
  };
  let verified: VerifiedManifest;
  try {
    verified = await verifyManifestSignature(signed, (keyId) =>
      trusted(keyId) ? (parseStrictJson(keys.get(keyId)!.jwk) as Ed25519PublicJwk) : undefined,
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
  const actor = principal.actor;
  const storedManifest = canonicalize(signed);
  return ctx.queue.submit((): PublishResult => {
    const signer = ctx.store.getKey(namespace, verified.keyId)!;
    const at = ctx.now();
    if (isRevokedAt(signer, at) || isRevokedAt(signer, issuedAt))
      throw new RegistryError(403, 'KEY_REVOKED', `key ${verified.keyId} was revoked from ${signer.revoked_from}`);
    const existing = ctx.store.getVersion(manifest.toolId, manifest.version);
    if (existing !== undefined) {
      // immutability: same content is an idempotent success, different content a conflict
      if (existing.manifest_digest === verified.manifestDigest) return { created: false, row: existing };
      throw new RegistryError(409, 'VERSION_EXISTS', `${manifest.toolId}@${manifest.version} is already published with other content`, {
        evidence: { published: existing.manifest_digest, got: verified.manifestDigest },
      });
    }
    const tool = ctx.store.getTool(manifest.toolId);
    // rollback protection at the source: a version must be higher than every published one
    if (tool !== undefined && !semver.gt(manifest.version, tool.latest_version))
      throw new RegistryError(409, 'VERSION_NOT_HIGHER', `${manifest.version} is not higher than the latest published ${tool.latest_version}`, {
        evidence: { latest: tool.latest_version, got: manifest.version },
      });
    const publishedAt = new Date(at).toISOString();
    const leafIndex = ctx.store.appendEvent(
      {
        type: LOG_EVENT_TYPE,
        kind: 'version.published',
        at: publishedAt,
        actor,
        namespace,
        toolId: manifest.toolId,
        version: manifest.version,
        manifestDigest: verified.manifestDigest,
        definitionDigest: verified.definitionDigest,
        signerKeyId: verified.keyId,
      },
      `${manifest.toolId}@${manifest.version}`,
    );
    const row: VersionRow = {
      tool_id: manifest.toolId,
      version: manifest.version,
      namespace,
      signed_manifest: storedManifest,
      manifest_digest: verified.manifestDigest,
      definition_digest: verified.definitionDigest,
      signer_key_id: verified.keyId,
      published_at: publishedAt,
      published_by: actor,
      leaf_index: leafIndex,
      revoked_at: null,
      revoked_reason: null,
      revoked_by: null,
    };
    const summary = {
      tool_id: manifest.toolId,
      latest_version: manifest.version,
      title: typeof manifest.definition.title === 'string' ? manifest.definition.title : null,
      description: typeof manifest.definition.description === 'string' ? manifest.definition.description : null,
      updated_at: publishedAt,
    };
    if (tool === undefined)
      ctx.store.insertTool({ ...summary, namespace, name: manifest.definition.name, created_at: publishedAt });
    else ctx.store.updateTool(summary);
    ctx.store.insertVersion(row);
    return { created: true, row };
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
