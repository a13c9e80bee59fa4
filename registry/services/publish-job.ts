import semver from 'semver';
import { LOG_EVENT_TYPE } from '../../schemas/index.js';
import { RegistryError } from '../errors.js';
import type { RegistryStore, VersionRow } from '../store/store.js';
import { isRevokedAt } from './auth.js';

export interface PublishResult {
  /** false when the same content was already published (idempotent republish). */
  created: boolean;
  row: VersionRow;
}

/**
 * A publish whose manifest has been decoded and whose signature verified (services/publish.ts),
 * reduced to plain data: it is what crosses to the write worker (services/write-worker.ts), so it
 * holds only what the state-dependent checks and the writes need, nothing to re-verify.
 */
export interface PublishJob {
  namespace: string;
  toolId: string;
  version: string;
  /** The MCP tool name (definition.name). */
  name: string;
  title: string | null;
  description: string | null;
  /** The key whose signature verified. */
  keyId: string;
  /** The manifest's issuedAt, milliseconds since the epoch. */
  issuedAtMs: number;
  manifestDigest: string;
  definitionDigest: string;
  /** JCS(signed manifest): what is stored and served, byte for byte. */
  signedManifest: string;
  /** Who published (the audit trail's and the log event's actor). */
  actor: string;
}

/**
 * The state-dependent half of a publish, run inside the write batch's transaction (its own
 * savepoint) against the state including every earlier job of the batch: the signer is still
 * trusted at `atMs`, the version is new (or an identical republish) and higher than every
 * published one. Then the log leaf, the audit row and the rows, in the same transaction.
 * Throws RegistryError on a refusal, before writing anything.
 */
export function applyPublish(store: RegistryStore, job: PublishJob, atMs: number): PublishResult {
  const signer = store.getKey(job.namespace, job.keyId);
  // the key may have been revoked while the signature was being checked (KEY_REVOKED, not 500)
  if (signer === undefined || isRevokedAt(signer, atMs) || isRevokedAt(signer, job.issuedAtMs))
    throw new RegistryError(403, 'KEY_REVOKED', `key ${job.keyId} was revoked from ${signer?.revoked_from ?? 'now'}`);
  const existing = store.getVersion(job.toolId, job.version);
  if (existing !== undefined) {
    // immutability: same content is an idempotent success, different content a conflict
    if (existing.manifest_digest === job.manifestDigest) return { created: false, row: existing };
    throw new RegistryError(409, 'VERSION_EXISTS', `${job.toolId}@${job.version} is already published with other content`, {
      evidence: { published: existing.manifest_digest, got: job.manifestDigest },
    });
  }
  const tool = store.getTool(job.toolId);
  // rollback protection at the source: a version must be higher than every published one
  if (tool !== undefined && !semver.gt(job.version, tool.latest_version))
    throw new RegistryError(409, 'VERSION_NOT_HIGHER', `${job.version} is not higher than the latest published ${tool.latest_version}`, {
      evidence: { latest: tool.latest_version, got: job.version },
    });
  const publishedAt = new Date(atMs).toISOString();
  const leafIndex = store.appendEvent(
    {
      type: LOG_EVENT_TYPE,
      kind: 'version.published',
      at: publishedAt,
      actor: job.actor,
      namespace: job.namespace,
      toolId: job.toolId,
      version: job.version,
      manifestDigest: job.manifestDigest,
      definitionDigest: job.definitionDigest,
      signerKeyId: job.keyId,
    },
    `${job.toolId}@${job.version}`,
  );
  const row: VersionRow = {
    tool_id: job.toolId,
    version: job.version,
    namespace: job.namespace,
    signed_manifest: job.signedManifest,
    manifest_digest: job.manifestDigest,
    definition_digest: job.definitionDigest,
    signer_key_id: job.keyId,
    published_at: publishedAt,
    published_by: job.actor,
    leaf_index: leafIndex,
    revoked_at: null,
    revoked_reason: null,
    revoked_by: null,
  };
  const summary = {
    tool_id: job.toolId,
    latest_version: job.version,
    title: job.title,
    description: job.description,
    updated_at: publishedAt,
  };
  if (tool === undefined) store.insertTool({ ...summary, namespace: job.namespace, name: job.name, created_at: publishedAt });
  else store.updateTool(summary);
  store.insertVersion(row);
  return { created: true, row };
}
