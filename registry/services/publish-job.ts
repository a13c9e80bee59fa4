import semver from 'semver';
import { LOG_EVENT_TYPE, type LogEvent } from '@etdi/schemas';
import { RegistryError } from '../errors.js';
import { toLeafData } from '../log/leaf.js';
import type { RegistryLimits } from '../config.js';
import type { TransparencyLog } from '../log/transparency-log.js';
import type { StoreReader, StoreTx, VersionRow } from '../store/types.js';
import { appendEvent } from './events.js';
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
  /** The registry's per-tool and per-namespace limits (config.limits). */
  limits: RegistryLimits;
}

/** What a publish that passed every check will write (checkPublish's answer). */
export interface PublishPlan {
  job: PublishJob;
  publishedAt: string;
  event: LogEvent;
  /** toLeafData(event): computed (and schema-checked) before the first write. */
  leaf: Uint8Array;
  toolExists: boolean;
}

/**
 * The checks of a publish, run inside the write batch's transaction against the state including
 * every earlier job of the batch: the signer is still trusted at
 * `atMs`, the version is new (or an identical republish: `done`) and higher than every published
 * one. Reads only, and computes the log leaf: it throws (RegistryError) on a refusal, having
 * written nothing, so a refused job needs no savepoint of its own.
 */
export async function checkPublish(store: StoreReader, job: PublishJob, atMs: number): Promise<{ done: PublishResult } | { plan: PublishPlan }> {
  const signer = await store.getKey(job.namespace, job.keyId);
  // the key may have been revoked while the signature was being checked (KEY_REVOKED, not 500)
  if (signer === undefined || isRevokedAt(signer, atMs) || isRevokedAt(signer, job.issuedAtMs))
    throw new RegistryError('KEY_REVOKED', `key ${job.keyId} was revoked from ${signer?.revoked_from ?? 'now'}`);
  const existing = await store.getVersion(job.toolId, job.version);
  if (existing !== undefined) {
    // immutability: same content is an idempotent success, different content a conflict
    if (existing.manifest_digest === job.manifestDigest) return { done: { created: false, row: existing } };
    throw new RegistryError('VERSION_EXISTS', `${job.toolId}@${job.version} is already published with other content`, {
      evidence: { published: existing.manifest_digest, got: job.manifestDigest },
    });
  }
  const tool = await store.getTool(job.toolId);
  // rollback protection at the source: a version must be higher than every published one
  if (tool !== undefined && !semver.gt(job.version, tool.latest_version))
    throw new RegistryError('VERSION_NOT_HIGHER', `${job.version} is not higher than the latest published ${tool.latest_version}`, {
      evidence: { latest: tool.latest_version, got: job.version },
    });
  // what one publisher may make the registry hold (and every reader of the tool page through)
  if (tool !== undefined && tool.version_count >= job.limits.versionsPerTool)
    throw new RegistryError('TOO_MANY_VERSIONS', `${job.toolId} has ${tool.version_count} versions, this registry's limit per tool; publish under a new tool name or ask the operator`, {
      evidence: { max: job.limits.versionsPerTool, got: tool.version_count + 1 },
    });
  if (tool === undefined) {
    const tools = await store.countToolsOf(job.namespace);
    if (tools >= job.limits.toolsPerNamespace)
      throw new RegistryError('TOO_MANY_TOOLS', `${job.namespace} has ${tools} tools, this registry's limit per namespace; publish a new version of an existing tool or ask the operator`, {
        evidence: { max: job.limits.toolsPerNamespace, got: tools + 1 },
      });
  }
  const publishedAt = new Date(atMs).toISOString();
  const event: LogEvent = {
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
  };
  // schema-checked here: a malformed event is a refusal of this job, not a failed write
  return { plan: { job, publishedAt, event, leaf: toLeafData(event), toolExists: tool !== undefined } };
}

/**
 * The writes of a checked publish: the log leaf, the audit row and the rows. A throw here (an
 * I/O or constraint error: nothing a request can cause) leaves the transaction half-written, so
 * the caller must roll the whole batch back (write-batch.ts runPublishBatch does).
 */
export async function writePublish(tx: StoreTx, log: TransparencyLog, plan: PublishPlan): Promise<PublishResult> {
  const { job, publishedAt } = plan;
  const leafIndex = await appendEvent(tx, log, plan.event, `${job.toolId}@${job.version}`, plan.leaf);
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
    signature_void: 0,
  };
  const summary = {
    tool_id: job.toolId,
    latest_version: job.version,
    title: job.title,
    description: job.description,
    updated_at: publishedAt,
  };
  if (!plan.toolExists) await tx.insertTool({ ...summary, version_count: 1, namespace: job.namespace, name: job.name, created_at: publishedAt });
  else await tx.updateTool(summary);
  await tx.insertVersion(row);
  return { created: true, row };
}

/**
 * checkPublish then writePublish, for a caller that runs the job in its own savepoint (the
 * event loop's WriteQueue when there is no write worker).
 */
export async function applyPublish(tx: StoreTx, log: TransparencyLog, job: PublishJob, atMs: number): Promise<PublishResult> {
  const checked = await checkPublish(tx, job, atMs);
  return 'done' in checked ? checked.done : writePublish(tx, log, checked.plan);
}
