import { canonicalize, checkSchema, confusableSkeleton, isSignatureVoid, jwkThumbprint, parseStrictJson } from '@etdi/protocol';
import {
  AddKeyRequestSchema,
  LOG_EVENT_TYPE,
  RegisterNamespaceRequestSchema,
  RevokeKeyRequestSchema,
  type Ed25519PublicJwk,
  type KeyStatus,
  type NamespaceInfo,
} from '@etdi/schemas';
import { RegistryError } from '../errors.js';
import type { KeyRow, StoreReader, StoreTx } from '../store/types.js';
import { appendEvent } from './events.js';
import { isRevokedAt, requireAdmin, requireWriter } from './auth.js';
import { isoNow, type Principal, type RegistryContext } from './context.js';
import { checkStatementFrame, consumeStatement, verifyStatementSignature } from './statements.js';
import { verifyMcpRegistryProof } from './mcp-registry-proof.js';
import { refuseAddressNamespace, verifyDomainControl } from './well-known.js';

export function toKeyStatus(row: KeyRow, nowMs: number): KeyStatus {
  const status: KeyStatus = {
    keyId: row.key_id,
    jwk: parseStrictJson(row.jwk) as Ed25519PublicJwk,
    status: isRevokedAt(row, nowMs) ? 'revoked' : 'active',
    addedAt: row.added_at,
  };
  // a future revokedFrom is served too: clients must refuse signatures made after it
  if (row.revoked_from !== null) status.revokedFrom = row.revoked_from;
  if (row.revoked_reason !== null) status.reason = row.revoked_reason;
  return status;
}

async function refuseTakenOrLookalike(store: StoreReader, namespace: string): Promise<void> {
  if ((await store.getNamespace(namespace)) !== undefined)
    throw new RegistryError('NAMESPACE_EXISTS', `namespace ${namespace} is already registered`);
  // squatting: a namespace whose TR39 skeleton equals an existing one's (index lookup)
  const existing = (await store.namespacesWithSkeleton(confusableSkeleton(namespace))).find((n) => n !== namespace);
  if (existing !== undefined)
    throw new RegistryError('NAMESPACE_LOOKALIKE', `namespace ${namespace} is a look-alike of the registered namespace ${existing}`, {
      evidence: { namespace, existing },
    });
}

/**
 * POST /v1/namespaces: first key + proof of possession + domain control (or an admin grant).
 * `client` is the caller's rate-limit key: it bounds the caller's domain-control fetches in flight.
 */
export async function registerNamespace(ctx: RegistryContext, principal: Principal, body: unknown, client = 'local'): Promise<NamespaceInfo> {
  const request = checkSchema(RegisterNamespaceRequestSchema, body, 'registration request');
  const { statement, jwk } = request;
  refuseAddressNamespace(statement.namespace); // server-side request forgery: never a namespace that is an address
  checkStatementFrame(ctx, statement);
  if (jwkThumbprint(jwk) !== statement.keyId)
    throw new RegistryError('BAD_PROOF', `the statement names key ${statement.keyId}, the JWK is ${jwkThumbprint(jwk)}`);
  await verifyStatementSignature(jwk, statement, request.signature, 'the proof of possession');
  if (request.verification === 'admin-grant') requireAdmin(principal);
  await refuseTakenOrLookalike(ctx.store, statement.namespace); // cheap early answer before any network call
  if (request.verification === 'well-known') {
    const release = ctx.outbound.acquire(client);
    try {
      // the official MCP Registry's record instead of etdi-namespace.json (mcp-registry-proof.ts)
      if (request.mcpRegistryProof !== undefined) await verifyMcpRegistryProof(ctx, statement.namespace, jwk, request.mcpRegistryProof);
      else await verifyDomainControl(statement.namespace, statement.keyId, ctx.config.wellKnown);
    } finally {
      release();
    }
  }
  const actor = principal.role === 'admin' ? principal.actor : `key:${statement.keyId}`;
  return ctx.queue.submit(async (tx) => {
    await consumeStatement(tx, ctx, statement);
    await refuseTakenOrLookalike(tx, statement.namespace); // again: another registration may have won the race
    const at = isoNow(ctx);
    const publicJwk: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
    const leafIndex = await appendEvent(
      tx,
      ctx.log,
      {
        type: LOG_EVENT_TYPE,
        kind: 'namespace.registered',
        at,
        actor,
        namespace: statement.namespace,
        keyId: statement.keyId,
        jwk: publicJwk,
        verification: request.verification,
        ...(request.mcpRegistryProof !== undefined ? { proof: `mcp-registry-${request.mcpRegistryProof.method}` as const } : {}),
      },
      statement.namespace,
    );
    await tx.insertNamespace({
      namespace: statement.namespace,
      skeleton: confusableSkeleton(statement.namespace),
      verification: request.verification,
      registered_at: at,
      registered_by: actor,
      leaf_index: leafIndex,
    });
    await tx.insertKey({ namespace: statement.namespace, key_id: statement.keyId, jwk: canonicalize(publicJwk), added_at: at, added_by: actor, leaf_index: leafIndex });
    return { namespace: statement.namespace, verification: request.verification, registeredAt: at, leafIndex, activeKeys: 1, tools: 0 };
  });
}

export async function getNamespaceInfo(ctx: RegistryContext, namespace: string): Promise<NamespaceInfo> {
  const row = await ctx.store.getNamespace(namespace);
  if (row === undefined) throw new RegistryError('NAMESPACE_NOT_FOUND', `namespace ${namespace} is not registered`);
  const now = ctx.now();
  return {
    namespace,
    verification: row.verification,
    registeredAt: row.registered_at,
    leafIndex: row.leaf_index,
    activeKeys: (await ctx.store.listKeys(namespace)).filter((k) => !isRevokedAt(k, now)).length,
    tools: row.tool_count,
  };
}

export async function listNamespaceKeys(ctx: RegistryContext, namespace: string): Promise<KeyStatus[]> {
  await getNamespaceInfo(ctx, namespace);
  const now = ctx.now();
  return (await ctx.store.listKeys(namespace)).map((k) => toKeyStatus(k, now));
}

async function activeKey(ctx: RegistryContext, store: StoreReader, namespace: string, keyId: string): Promise<KeyRow> {
  const key = await store.getKey(namespace, keyId);
  if (key === undefined) throw new RegistryError('UNTRUSTED_SIGNER', `${keyId} is not a key of ${namespace}`);
  if (isRevokedAt(key, ctx.now())) throw new RegistryError('KEY_REVOKED', `key ${keyId} of ${namespace} is revoked`);
  return key;
}

/** POST /v1/namespaces/:namespace/keys: a new key, signed by an active key and by itself. */
export async function addKey(ctx: RegistryContext, principal: Principal, namespace: string, body: unknown): Promise<KeyStatus> {
  requireWriter(principal, namespace);
  const request = checkSchema(AddKeyRequestSchema, body, 'key-add request');
  const { statement } = request;
  if (statement.namespace !== namespace)
    throw new RegistryError('NAMESPACE_MISMATCH', `the statement is for ${statement.namespace}, the path for ${namespace}`);
  checkStatementFrame(ctx, statement);
  if (jwkThumbprint(statement.jwk) !== statement.keyId)
    throw new RegistryError('BAD_PROOF', `the statement names key ${statement.keyId}, the JWK is ${jwkThumbprint(statement.jwk)}`);
  await getNamespaceInfo(ctx, namespace);
  const authorizer = await activeKey(ctx, ctx.store, namespace, statement.authorizedBy);
  await verifyStatementSignature(parseStrictJson(authorizer.jwk) as Ed25519PublicJwk, statement, request.signature, 'the authorising signature');
  await verifyStatementSignature(statement.jwk, statement, request.proof, "the new key's proof of possession");
  const actor = principal.actor;
  return ctx.queue.submit(async (tx) => {
    await consumeStatement(tx, ctx, statement);
    await activeKey(ctx, tx, namespace, statement.authorizedBy); // may have been revoked meanwhile
    if ((await tx.getKey(namespace, statement.keyId)) !== undefined)
      throw new RegistryError('KEY_EXISTS', `key ${statement.keyId} is already a key of ${namespace}`);
    const at = isoNow(ctx);
    const publicJwk: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: statement.jwk.x };
    const leafIndex = await appendEvent(
      tx,
      ctx.log,
      { type: LOG_EVENT_TYPE, kind: 'key.added', at, actor, namespace, keyId: statement.keyId, jwk: publicJwk, authorizedBy: statement.authorizedBy },
      `${namespace}#${statement.keyId}`,
    );
    await tx.insertKey({ namespace, key_id: statement.keyId, jwk: canonicalize(publicJwk), added_at: at, added_by: actor, leaf_index: leafIndex });
    return toKeyStatus((await tx.getKey(namespace, statement.keyId))!, ctx.now());
  });
}

/**
 * Key revocation is not one key's word (THREAT-MODEL.md, "Key revocation"). A provider's key may
 * revoke another key of its namespace from any time since the revoking key itself was added; it
 * may reach back further only if it is at least as old as the key it revokes (it then vouched for
 * the namespace for that key's whole life; a key always may revoke itself). Anything else, such
 * as a key added a minute ago voiding every version the first key ever signed, needs the
 * administrator, who makes the revocation after checking the provider's claim.
 */
async function refuseReachBack(tx: StoreTx, principal: Extract<Principal, { role: 'publisher' }>, revoked: KeyRow, revokedFrom: string): Promise<void> {
  const revoking = await tx.getKey(principal.namespace, principal.keyId);
  if (revoking === undefined) throw new RegistryError('UNTRUSTED_SIGNER', `${principal.keyId} is not a key of ${principal.namespace}`);
  const reachesBeforeRevoker = Date.parse(revokedFrom) < Date.parse(revoking.added_at);
  const revokerIsOlder = Date.parse(revoking.added_at) <= Date.parse(revoked.added_at);
  if (reachesBeforeRevoker && !revokerIsOlder)
    throw new RegistryError('REVOCATION_NEEDS_ADMIN', `key ${revoking.key_id} was added at ${revoking.added_at}, after key ${revoked.key_id}; it cannot revoke that key from ${revokedFrom}, before it existed. Revoke from ${revoking.added_at} or later, or ask the registry administrator to make this revocation`, {
      evidence: { revokingKey: revoking.key_id, revokingKeyAddedAt: revoking.added_at, revokedKeyAddedAt: revoked.added_at, revokedFrom },
    });
}

/** POST /v1/namespaces/:namespace/keys/:keyId/revoke: untrusted from `revokedFrom` (default now). */
export async function revokeKey(
  ctx: RegistryContext,
  principal: Principal,
  namespace: string,
  keyId: string,
  body: unknown,
): Promise<KeyStatus> {
  requireWriter(principal, namespace);
  const request = checkSchema(RevokeKeyRequestSchema, body, 'key revocation');
  return ctx.queue.submit(async (tx) => {
    const key = await tx.getKey(namespace, keyId);
    if (key === undefined) throw new RegistryError('KEY_NOT_FOUND', `${keyId} is not a key of ${namespace}`);
    if (key.revoked_from !== null) throw new RegistryError('KEY_ALREADY_REVOKED', `key ${keyId} is already revoked`);
    const at = isoNow(ctx);
    const revokedFrom = request.revokedFrom ?? at;
    if (principal.role === 'publisher') await refuseReachBack(tx, principal, key, revokedFrom);
    await appendEvent(
      tx,
      ctx.log,
      { type: LOG_EVENT_TYPE, kind: 'key.revoked', at, actor: principal.actor, namespace, keyId, revokedFrom, reason: request.reason },
      `${namespace}#${keyId}`,
    );
    await tx.revokeKey(namespace, keyId, revokedFrom, at, request.reason);
    await voidSignatures(tx, namespace, keyId, revokedFrom);
    ctx.invalidate();
    return toKeyStatus((await tx.getKey(namespace, keyId))!, ctx.now());
  });
}

/**
 * Marks the versions the key's revocation from `revokedFrom` voids (signature_void), in the
 * revocation's transaction: `latest` and the versions list then skip them with an index, under
 * the one rule the client applies too (protocol/key-revocation.ts).
 */
async function voidSignatures(tx: StoreTx, namespace: string, keyId: string, revokedFrom: string): Promise<void> {
  for (const row of await tx.signedBy(namespace, keyId))
    if (isSignatureVoid(revokedFrom, { issuedAt: row.issued_at, publishedAt: row.published_at })) await tx.markSignatureVoid(row.tool_id, row.version);
}
