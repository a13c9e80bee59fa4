import { SignJWT } from 'jose';
import semver from 'semver';
import { toBase64 } from '@etdi/protocol';
import {
  ATTESTATION_JWT_TYPE,
  ATTESTATION_SET_JWT_TYPE,
  BUNDLE_SET_TYPE,
  type AttestedVersion,
  type BundleSet,
  type BundleSetRequest,
  type LogEvidence,
  type SignedManifest,
  type ToolListResponse,
  type VersionListResponse,
  type VersionRecord,
  type VersionStatus,
} from '@etdi/schemas';
import { RegistryError } from '../errors.js';
import type { VersionRow } from '../store/store.js';
import { isRevokedAt } from './auth.js';
import type { RegistryContext } from './context.js';
import { toKeyStatus } from './namespaces.js';

/** A version record serialised once: its bytes never change, so they are served as they are. */
export interface CachedRecord {
  body: Buffer;
  /** Strong ETag: the manifest digest (the record is a function of it). */
  etag: string;
  toolId: string;
  version: string;
}

/** Bounded LRU (Map keeps insertion order: re-insert on hit, evict the oldest). */
export class LruCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }
  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }
  clear(): void {
    this.map.clear();
  }
  get size(): number {
    return this.map.size;
  }
}

export function toVersionRecord(row: VersionRow): VersionRecord {
  return {
    toolId: row.tool_id,
    version: row.version,
    provider: row.namespace,
    // stored as JCS of what was strictly parsed: JSON.parse gives back exactly those values
    signedManifest: JSON.parse(row.signed_manifest) as SignedManifest,
    definitionDigest: row.definition_digest,
    manifestDigest: row.manifest_digest,
    signerKeyId: row.signer_key_id,
    publishedAt: row.published_at,
    publishedBy: row.published_by,
    leafIndex: row.leaf_index,
  };
}

/**
 * The record's bytes: the stored signed manifest (its JCS text) is spliced in as it is, so the
 * served manifest is byte for byte the stored one and costs no parse/re-serialise. Same members
 * and order as toVersionRecord.
 */
export function serialiseRecord(row: VersionRow): CachedRecord {
  const q = JSON.stringify;
  const text =
    `{"toolId":${q(row.tool_id)},"version":${q(row.version)},"provider":${q(row.namespace)},"signedManifest":${row.signed_manifest},` +
    `"definitionDigest":${q(row.definition_digest)},"manifestDigest":${q(row.manifest_digest)},"signerKeyId":${q(row.signer_key_id)},` +
    `"publishedAt":${q(row.published_at)},"publishedBy":${q(row.published_by)},"leafIndex":${row.leaf_index}}`;
  return {
    body: Buffer.from(text),
    etag: `"${row.manifest_digest}"`,
    toolId: row.tool_id,
    version: row.version,
  };
}

/** What an attestation of this version says, single token or set entry (schemas: AttestedVersionSchema). */
function attestedVersion(row: VersionRow, permissions: string[]): AttestedVersion {
  return {
    sub: row.tool_id,
    tool_version: row.version,
    provider: row.namespace,
    definition_digest: row.definition_digest,
    manifest_digest: row.manifest_digest,
    scope: permissions.join(' '),
    log_index: row.leaf_index,
  };
}

interface CachedAttestation {
  token: string;
  /** Re-sign when less than half the lifetime is left. */
  refreshAt: number;
}

/** Read side: records (LRU of serialised bytes), status with attestation and log evidence, lists. */
export class ReadService {
  readonly records: LruCache<CachedRecord>;
  private readonly attestations: LruCache<CachedAttestation>;

  constructor(private readonly ctx: RegistryContext) {
    this.records = new LruCache(ctx.config.recordCacheSize);
    this.attestations = new LruCache(ctx.config.recordCacheSize);
  }

  /** Revocations change statuses and attestations (records never change). */
  invalidate(): void {
    this.attestations.clear();
  }

  private requireTool(toolId: string): void {
    if (this.ctx.store.getTool(toolId) === undefined) throw new RegistryError('TOOL_NOT_FOUND', `tool ${toolId} is not published`);
  }

  /** `latest` is the highest version that is not revoked (the highest of all if every one is). */
  resolveVersion(toolId: string, version: string): string {
    if (version !== 'latest') return version;
    this.requireTool(toolId);
    const rows = this.ctx.store.listVersions(toolId).sort((a, b) => semver.rcompare(a.version, b.version));
    return (rows.find((r) => r.revoked_at === null) ?? rows[0])!.version;
  }

  private row(toolId: string, version: string): VersionRow {
    const row = this.ctx.store.getVersion(toolId, version);
    if (row === undefined) {
      this.requireTool(toolId);
      throw new RegistryError('VERSION_NOT_FOUND', `${toolId}@${version} is not published`);
    }
    return row;
  }

  /** The immutable record, from the cache when possible (the hot read path). */
  record(toolId: string, version: string): CachedRecord {
    const key = `${toolId}@${version}`;
    const hit = this.records.get(key);
    if (hit !== undefined) return hit;
    const cached = serialiseRecord(this.row(toolId, version));
    this.records.set(key, cached);
    return cached;
  }

  /** Primes the cache with a freshly published record (its first GET is then a hit). */
  remember(row: VersionRow): CachedRecord {
    const cached = serialiseRecord(row);
    this.records.set(`${row.tool_id}@${row.version}`, cached);
    return cached;
  }

  logEvidence(leafIndex: number): LogEvidence {
    const log = this.ctx.store.log;
    const { size: treeSize, note: checkpoint } = log.latestCheckpoint();
    if (treeSize <= leafIndex) throw new Error(`checkpoint of size ${treeSize} does not cover leaf ${leafIndex}`);
    const hashes = log.inclusionProof(leafIndex, treeSize).map((h) => toBase64(h));
    return { leafIndex, inclusionProof: { leafIndex, treeSize, hashes }, checkpoint };
  }

  async status(toolId: string, version: string): Promise<VersionStatus> {
    const { row, status, permissions } = this.statusOf(toolId, version);
    // no attestation for what clients must refuse: a revoked version or a void signature
    if (status.status === 'active') status.attestation = await this.attestation(row, permissions);
    return status;
  }

  /** The status without its attestation (`attestation` is ''), and what an attestation of it would say. */
  private statusOf(toolId: string, version: string): { row: VersionRow; status: VersionStatus; permissions: string[] } {
    const row = this.row(toolId, version);
    const ctx = this.ctx;
    const key = ctx.store.getKey(row.namespace, row.signer_key_id)!;
    const signerKey = toKeyStatus(key, ctx.now());
    const manifest = (JSON.parse(row.signed_manifest) as SignedManifest).manifest;
    // the signature is void if the key was revoked at or before the manifest's time
    const signatureVoid = isRevokedAt(key, Date.parse(manifest.issuedAt));
    const status: VersionStatus = {
      toolId,
      version,
      status: row.revoked_at === null && !signatureVoid ? 'active' : 'revoked',
      signerKey,
      attestation: '',
      log: this.logEvidence(row.leaf_index),
    };
    if (row.revoked_at !== null) status.revocation = { reason: row.revoked_reason!, revokedAt: row.revoked_at, by: row.revoked_by! };
    else if (signatureVoid)
      status.revocation = { reason: `signer key revoked from ${key.revoked_from}: ${key.revoked_reason ?? ''}`, revokedAt: key.revoked_at!, by: `key:${key.key_id}` };
    return { row, status, permissions: manifest.permissions };
  }

  /**
   * A bundle set (`POST /v1/bundles`): the bundle of every requested version that exists, one
   * attestation over the active ones, and the versions it does not have. Built in one
   * synchronous pass, so every inclusion proof is against the same checkpoint.
   */
  async bundleSet(request: BundleSetRequest): Promise<string> {
    const bundles: string[] = [];
    const attested: AttestedVersion[] = [];
    const missing: BundleSet['missing'] = [];
    const latest: BundleSet['latest'] = [];
    const seen = new Set<string>();
    // up to 256 inclusion proofs of one tree: their upper nodes are read once
    this.ctx.store.log.shareNodes(() => {
      for (const { toolId, version: asked } of request.versions) {
        let parts: { record: CachedRecord; status: VersionStatus; row: VersionRow; permissions: string[] };
        try {
          const version = this.resolveVersion(toolId, asked);
          parts = { record: this.record(toolId, version), ...this.statusOf(toolId, version) };
        } catch (error) {
          if (error instanceof RegistryError && (error.code === 'TOOL_NOT_FOUND' || error.code === 'VERSION_NOT_FOUND')) {
            missing.push({ toolId, version: asked, code: error.code });
            continue;
          }
          throw error;
        }
        const { record, status, row, permissions } = parts;
        if (asked === 'latest' && !latest.some((l) => l.toolId === toolId)) latest.push({ toolId, version: row.version });
        if (seen.has(`${toolId}@${row.version}`)) continue; // `latest` and its version named together
        seen.add(`${toolId}@${row.version}`);
        bundles.push(`{"type":"etdi.bundle/v1","record":${record.body.toString('utf8')},"status":${JSON.stringify(status)}}`);
        if (status.status === 'active') attested.push(attestedVersion(row, permissions));
      }
    });
    const attestation = attested.length === 0 ? '' : await this.sign({ tools: attested }, ATTESTATION_SET_JWT_TYPE, undefined);
    return `{"type":"${BUNDLE_SET_TYPE}","attestation":${JSON.stringify(attestation)},"bundles":[${bundles.join(',')}],"latest":${JSON.stringify(latest)},"missing":${JSON.stringify(missing)}}`;
  }

  private async attestation(row: VersionRow, permissions: string[]): Promise<string> {
    const cacheKey = `${row.tool_id}@${row.version}#${this.ctx.keys.current().kid}`;
    const now = this.ctx.now();
    const hit = this.attestations.get(cacheKey);
    if (hit !== undefined && hit.refreshAt > now) return hit.token;
    const { sub, ...claims } = attestedVersion(row, permissions);
    const token = await this.sign(claims, ATTESTATION_JWT_TYPE, sub);
    this.attestations.set(cacheKey, { token, refreshAt: now + (this.ctx.config.attestationTtlSeconds * 1000) / 2 });
    return token;
  }

  /** A registry token: EdDSA with the current key, issuer, audience, iat and the attestation lifetime. */
  private async sign(claims: Record<string, unknown>, typ: string, subject: string | undefined): Promise<string> {
    const { config, keys } = this.ctx;
    const signer = keys.current();
    const iat = Math.floor(this.ctx.now() / 1000);
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', typ, kid: signer.kid })
      .setIssuer(config.origin)
      .setAudience(config.attestationAudience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + config.attestationTtlSeconds);
    if (subject !== undefined) jwt.setSubject(subject);
    return jwt.sign(signer.privateKey);
  }

  /** A tool's versions, newest first; only those whose definition has `definitionDigest` when given. */
  versions(toolId: string, definitionDigest?: string): VersionListResponse {
    this.requireTool(toolId);
    const versions = this.ctx.store
      .listVersions(toolId)
      .filter((r) => definitionDigest === undefined || r.definition_digest === definitionDigest)
      .sort((a, b) => semver.rcompare(a.version, b.version))
      .map((r) => ({
        version: r.version,
        status: r.revoked_at === null ? ('active' as const) : ('revoked' as const),
        publishedAt: r.published_at,
        manifestDigest: r.manifest_digest,
      }));
    return { toolId, versions };
  }

  /** Cursor pagination over tool ids (the cursor is the last id, base64url: opaque to clients). */
  tools(query: string | undefined, cursor: string | undefined, limit: number): ToolListResponse {
    let after = '';
    if (cursor !== undefined && cursor !== '') {
      after = Buffer.from(cursor, 'base64url').toString('utf8');
      if (Buffer.from(after, 'utf8').toString('base64url') !== cursor)
        throw new RegistryError('BAD_REQUEST', 'cursor is not one this registry issued');
    }
    const rows = this.ctx.store.listTools(after, limit + 1, query);
    const page = rows.slice(0, limit);
    const items = page.map((r) => {
      const item: ToolListResponse['items'][number] = {
        toolId: r.tool_id,
        provider: r.namespace,
        name: r.name,
        latestVersion: r.latest_version,
        updatedAt: r.updated_at,
      };
      if (r.title !== null) item.title = r.title;
      if (r.description !== null) item.description = r.description;
      return item;
    });
    const out: ToolListResponse = { items };
    if (rows.length > limit) out.nextCursor = Buffer.from(page[page.length - 1]!.tool_id, 'utf8').toString('base64url');
    return out;
  }
}
