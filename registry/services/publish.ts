import {
  canonicalize,
  defaultBackend,
  decodeSignedManifest,
  parseStrictJson,
  verifyManifestSignature,
  type VerifiedManifest,
} from '@etdi/protocol';
import { validateToolPolicy } from '@etdi/client/policy';
import { LOG_EVENT_TYPE, type Ed25519PublicJwk, type SignedManifest, type ToolPolicy } from '@etdi/schemas';
import { RegistryError, toRegistryError } from '../errors.js';
import type { KeyRow, VersionRow } from '../store/types.js';
import { appendEvent } from './events.js';
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

/** A stored key row's public JWK (the row holds what registration checked). */
const publicJwkOf = (key: KeyRow): Ed25519PublicJwk => parseStrictJson(key.jwk) as Ed25519PublicJwk;

/**
 * Refuses a manifest whose Cedar policy does not parse/validate (422 POLICY_INVALID with
 * Cedar's diagnostics). The check is the client verifier's own (client-verifier/policy), so
 * the registry never accepts a policy a client would fail to load.
 */
export async function validateManifestPolicy(policy: ToolPolicy): Promise<void> {
  const result = await validateToolPolicy(policy);
  if (!result.ok)
    throw new RegistryError('POLICY_INVALID', 'the manifest policy is not a valid Cedar policy set', {
      errors: result.diagnostics.map((d) => ({ message: d.message })),
    });
}

/**
 * POST /v1/tools, in order: decode (strict parse, schema, limits), authorise (the publisher's
 * namespace, a registered namespace, the issue time, a signer the namespace trusts), verify (the
 * signatures over JCS(manifest) with the trusted keys only), write. Everything is checked before
 * anything is stored; the state-dependent checks run again inside the write job
 * (publish-job.ts), against the state including earlier publishes of the batch.
 */
export async function publish(ctx: RegistryContext, principal: Principal, raw: Uint8Array): Promise<PublishResult> {
  if (principal.role === 'anonymous') requireWriter(principal, '');
  const signed = decode(raw);
  const trustedKeys = await authorise(ctx, principal, signed);
  let verified: VerifiedManifest;
  try {
    verified = await verifyManifestSignature(signed, (keyId) => trustedKeys.get(keyId), VERIFY_BACKEND);
  } catch (error) {
    throw toRegistryError(error) ?? error;
  }
  const { manifest } = verified;
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
    issuedAtMs: Date.parse(manifest.issuedAt),
    manifestDigest: verified.manifestDigest,
    definitionDigest: verified.definitionDigest,
    // what is stored and served: JCS of the verified document, never a slice of the received text
    signedManifest: canonicalize(verified.signedManifest),
    actor: principal.actor,
    limits: ctx.config.limits,
  });
}

/** Step 1: the received bytes as a signed manifest (strict I-JSON, schema, limits); no signature checked yet. */
function decode(raw: Uint8Array): SignedManifest {
  try {
    return decodeSignedManifest(raw);
  } catch (error) {
    throw toRegistryError(error) ?? error;
  }
}

/** Step 2: may this principal publish this manifest, and which keys may sign it? (trustedKeysFor) */
async function authorise(ctx: RegistryContext, principal: Principal, signed: SignedManifest): Promise<Map<string, Ed25519PublicJwk>> {
  const { manifest } = signed;
  // the schema binds toolId = provider/definition.name
  return trustedKeysFor(ctx, principal, manifest.provider, manifest.toolId, manifest.issuedAt, signed.signatures.map((s) => s.keyId));
}

/**
 * The authorisation every publish shares, whatever its format: the principal may write to
 * `namespace`, which is registered; the document was not issued in the future; and the keys that
 * may sign it are the namespace's keys active now and not revoked at or before `issuedAt` (a
 * manifest back-dated before a revocation is still refused: the publication time bounds it).
 * A document signed only by keys the namespace revoked is KEY_REVOKED; by keys it never had,
 * UNTRUSTED_SIGNER (the caller's signature check, which tells that apart from an unsigned one).
 */
export async function trustedKeysFor(
  ctx: RegistryContext,
  principal: Principal,
  namespace: string,
  what: string,
  issuedAtText: string,
  signers: readonly string[],
): Promise<Map<string, Ed25519PublicJwk>> {
  if (principal.role === 'publisher' && principal.namespace !== namespace)
    throw new RegistryError('NAMESPACE_MISMATCH', `a publisher of ${principal.namespace} cannot publish ${what}`, {
      evidence: { tokenNamespace: principal.namespace, toolNamespace: namespace },
    });
  // a registered namespace has at least its first key: one read answers both questions
  const keyRows = await ctx.store.listKeys(namespace);
  if (keyRows.length === 0 && (await ctx.store.getNamespace(namespace)) === undefined)
    throw new RegistryError('NAMESPACE_NOT_FOUND', `namespace ${namespace} is not registered`);
  const now = ctx.now();
  const issuedAt = Date.parse(issuedAtText);
  if (issuedAt > now + ctx.config.maxClockSkewSeconds * 1000)
    throw new RegistryError('ISSUED_IN_FUTURE', `issuedAt ${issuedAtText} is in the future`, {
      evidence: { issuedAt: issuedAtText, now: new Date(now).toISOString() },
    });
  const trusted = new Map<string, Ed25519PublicJwk>();
  for (const key of keyRows) if (!isRevokedAt(key, now) && !isRevokedAt(key, issuedAt)) trusted.set(key.key_id, publicJwkOf(key));
  if (signers.length > 0 && !signers.some((keyId) => trusted.has(keyId))) {
    const revoked = keyRows.find((k) => signers.includes(k.key_id));
    if (revoked !== undefined)
      throw new RegistryError('KEY_REVOKED', `${what} is signed by ${revoked.key_id}, revoked from ${revoked.revoked_from}`, {
        evidence: { keyId: revoked.key_id, revokedFrom: revoked.revoked_from, issuedAt: issuedAtText },
      });
  }
  return trusted;
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
  return ctx.queue.submit(async (tx) => {
    const row = await tx.getVersion(toolId, version);
    if (row === undefined) throw new RegistryError('VERSION_NOT_FOUND', `${toolId}@${version} is not published`);
    if (row.revoked_at !== null) throw new RegistryError('VERSION_ALREADY_REVOKED', `${toolId}@${version} is already revoked`);
    const at = isoNow(ctx);
    await appendEvent(
      tx,
      ctx.log,
      { type: LOG_EVENT_TYPE, kind: 'version.revoked', at, actor: principal.actor, namespace, toolId, version, reason },
      `${toolId}@${version}`,
    );
    await tx.revokeVersion(toolId, version, at, reason, principal.actor);
    ctx.invalidate();
    return (await tx.getVersion(toolId, version))!;
  });
}
