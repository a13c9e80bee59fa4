import { verify as nodeVerify, createPublicKey, type KeyObject } from 'node:crypto';
import semver from 'semver';
import { ProtocolError, toBase64Url } from '../../protocol/index.js';
import { LOG_EVENT_TYPE, type LogEvent } from '../../schemas/index.js';
import { RegistryError, toRegistryError } from '../errors.js';
import { toLeafData } from '../log/leaf.js';
import type { RegistryStore, VersionRow } from '../store/store.js';
import { isRevokedAt } from './auth.js';

export interface PublishResult {
  /** false when the same content was already published (idempotent republish). */
  created: boolean;
  row: VersionRow;
}

/**
 * An Ed25519 signature of the manifest that the write worker checks before anything else of the
 * job (services/publish.ts: the event loop then spends no thread-pool round trip on it). The
 * message is JCS(manifest): the bytes of `signedManifest` after `{"manifest":`, `manifestBytes`
 * long, exactly the bytes verifySignedManifest asked its backend to verify.
 */
export interface DeferredSignature {
  keyId: string;
  /** The raw 32-byte public key of a key the event loop's resolver trusted for this manifest. */
  publicKey: Uint8Array;
  signature: Uint8Array;
}

/**
 * A publish whose manifest has been decoded and checked (services/publish.ts), reduced to plain
 * data: it is what crosses to the write worker (services/write-worker.ts), so it holds only what
 * the state-dependent checks and the writes need.
 */
export interface PublishJob {
  namespace: string;
  toolId: string;
  version: string;
  /** The MCP tool name (definition.name). */
  name: string;
  title: string | null;
  description: string | null;
  /** The key whose signature verified (or, with `signatures`, verifies). */
  keyId: string;
  /** The manifest's issuedAt, milliseconds since the epoch. */
  issuedAtMs: number;
  manifestDigest: string;
  definitionDigest: string;
  /** JCS(signed manifest): what is stored and served, byte for byte. */
  signedManifest: string;
  /** Who published (the audit trail's and the log event's actor). */
  actor: string;
  /**
   * Signatures still to verify, in the manifest's order (undefined when they were verified
   * before the job was made). Every one must verify, or the job is refused with BAD_SIGNATURE
   * before any other check: the order of verifySignedManifest's own loop.
   */
  signatures?: DeferredSignature[] | undefined;
  /** With `signatures`: the UTF-8 length of JCS(manifest) inside `signedManifest`. */
  manifestBytes?: number | undefined;
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

const MANIFEST_OFFSET = '{"manifest":'.length;

/** Imported public keys (a publisher signs with few keys). */
const keyObjects = new Map<string, KeyObject>();
function keyObject(raw: Uint8Array): KeyObject {
  const x = toBase64Url(raw);
  let key = keyObjects.get(x);
  if (key === undefined) {
    if (keyObjects.size >= 1024) keyObjects.clear();
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
    keyObjects.set(x, key);
  }
  return key;
}

/**
 * The deferred half of verifySignedManifest: each signature over JCS(manifest) with node:crypto
 * (OpenSSL, strict RFC 8032: the protocol's node backend), synchronously. The same error as the
 * protocol's loop: BAD_SIGNATURE naming the first signature that does not verify.
 */
function verifyDeferred(job: PublishJob): void {
  const signatures = job.signatures;
  if (signatures === undefined) return;
  const text = Buffer.from(job.signedManifest, 'utf8');
  const message = text.subarray(MANIFEST_OFFSET, MANIFEST_OFFSET + (job.manifestBytes ?? -1));
  if (signatures.length === 0 || message.length !== job.manifestBytes) throw new Error('publish job: deferred signatures without their message');
  for (const s of signatures) {
    let ok: boolean;
    try {
      ok = s.publicKey.length === 32 && s.signature.length === 64 && nodeVerify(null, message, keyObject(s.publicKey), s.signature);
    } catch {
      ok = false;
    }
    if (!ok) {
      const error = new ProtocolError('BAD_SIGNATURE', `signature by ${s.keyId} does not verify over the manifest`);
      throw toRegistryError(error) ?? error;
    }
  }
}

/**
 * The checks of a publish, run inside the write batch's transaction against the state including
 * every earlier job of the batch: the deferred signatures verify, the signer is still trusted at
 * `atMs`, the version is new (or an identical republish: `done`) and higher than every published
 * one. Reads only, and computes the log leaf: it throws (RegistryError) on a refusal, having
 * written nothing, so a refused job needs no savepoint of its own.
 */
export function checkPublish(store: RegistryStore, job: PublishJob, atMs: number): { done: PublishResult } | { plan: PublishPlan } {
  verifyDeferred(job);
  const signer = store.getKey(job.namespace, job.keyId);
  // the key may have been revoked while the signature was being checked (KEY_REVOKED, not 500)
  if (signer === undefined || isRevokedAt(signer, atMs) || isRevokedAt(signer, job.issuedAtMs))
    throw new RegistryError(403, 'KEY_REVOKED', `key ${job.keyId} was revoked from ${signer?.revoked_from ?? 'now'}`);
  const existing = store.getVersion(job.toolId, job.version);
  if (existing !== undefined) {
    // immutability: same content is an idempotent success, different content a conflict
    if (existing.manifest_digest === job.manifestDigest) return { done: { created: false, row: existing } };
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
export function writePublish(store: RegistryStore, plan: PublishPlan): PublishResult {
  const { job, publishedAt } = plan;
  const leafIndex = store.appendEventLeaf(plan.event, plan.leaf, `${job.toolId}@${job.version}`);
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
  if (!plan.toolExists) store.insertTool({ ...summary, namespace: job.namespace, name: job.name, created_at: publishedAt });
  else store.updateTool(summary);
  store.insertVersion(row);
  return { created: true, row };
}

/**
 * checkPublish then writePublish, for a caller that runs the job in its own savepoint (the
 * event loop's WriteQueue when there is no write worker).
 */
export function applyPublish(store: RegistryStore, job: PublishJob, atMs: number): PublishResult {
  const checked = checkPublish(store, job, atMs);
  return 'done' in checked ? checked.done : writePublish(store, checked.plan);
}
