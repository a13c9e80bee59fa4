import { SignJWT } from 'jose';
import { isSignatureVoid, toBase64 } from '@etdi/protocol';
import {
  ATTESTATION_JWT_TYPE,
  ATTESTATION_SET_JWT_TYPE,
  BUNDLE_SET_TYPE,
  type AttestedVersion,
  type BundleSet,
  type BundleSetRequest,
  type LogEvidence,
  type ToolListResponse,
  type VersionListResponse,
  type VersionRecord,
  type VersionStatus,
} from '@etdi/schemas';
import { RegistryError } from '../errors.js';
import type { StoredCheckpoint, VersionRow } from '../store/types.js';
import type { RegistryContext } from './context.js';
import { toKeyStatus } from './namespaces.js';
import { recordMemberOf, storedTerms } from './stored-document.js';

/** The leaf index a versions-list cursor carries (base64url of its decimal digits). */
function decodeLeafCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^(0|[1-9]\d{0,15})$/.test(text) || Buffer.from(text, 'utf8').toString('base64url') !== cursor)
    throw new RegistryError('BAD_REQUEST', 'cursor is not one this registry issued; start again without it');
  return Number(text);
}

/** A version record serialised once: its bytes never change, so they are served as they are. */
export interface CachedRecord {
  body: Buffer;
  /** Strong ETag: the manifest digest (the record is a function of it). */
  etag: string;
  toolId: string;
  version: string;
}

/**
 * Bounded LRU (Map keeps insertion order: re-insert on hit, evict the oldest), bounded both in
 * entries and in bytes (`weigh`: an entry's size, its key included), so that what a full cache
 * costs is a configured figure, whatever the entries' sizes.
 */
export class LruCache<V> {
  private readonly map = new Map<string, { value: V; bytes: number }>();
  private total = 0;
  constructor(
    private readonly max: number,
    private readonly maxBytes = Infinity,
    private readonly weigh: (key: string, value: V) => number = () => 0,
  ) {}
  get(key: string): V | undefined {
    const entry = this.map.get(key);
    if (entry !== undefined) {
      this.map.delete(key);
      this.map.set(key, entry);
    }
    return entry?.value;
  }
  set(key: string, value: V): void {
    this.delete(key);
    const bytes = this.weigh(key, value);
    if (bytes > this.maxBytes) return; // larger than the whole cache: not kept
    this.map.set(key, { value, bytes });
    this.total += bytes;
    while (this.map.size > this.max || this.total > this.maxBytes) this.delete(this.map.keys().next().value as string);
  }
  private delete(key: string): void {
    const entry = this.map.get(key);
    if (entry === undefined) return;
    this.map.delete(key);
    this.total -= entry.bytes;
  }
  clear(): void {
    this.map.clear();
    this.total = 0;
  }
  get size(): number {
    return this.map.size;
  }
  /** The bytes the entries weigh (what `maxBytes` bounds). */
  get bytes(): number {
    return this.total;
  }
}

/** A string's weight in a cache: UTF-16 in V8's heap at worst, plus the Map entry's own overhead. */
const ENTRY_OVERHEAD = 160;
const weighString = (s: string): number => 2 * s.length;

export function toVersionRecord(row: VersionRow): VersionRecord {
  return <VersionRecord>{
    toolId: row.tool_id,
    version: row.version,
    provider: row.namespace,
    // stored as JCS of what was strictly parsed: JSON.parse gives back exactly those values
    [recordMemberOf(row.signed_manifest)]: JSON.parse(row.signed_manifest),
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
    `{"toolId":${q(row.tool_id)},"version":${q(row.version)},"provider":${q(row.namespace)},"${recordMemberOf(row.signed_manifest)}":${row.signed_manifest},` +
    `"definitionDigest":${q(row.definition_digest)},"manifestDigest":${q(row.manifest_digest)},"signerKeyId":${q(row.signer_key_id)},` +
    `"publishedAt":${q(row.published_at)},"publishedBy":${q(row.published_by)},"leafIndex":${row.leaf_index}}`;
  // an unpooled buffer: a small Buffer.from(text) is a slice of a shared 8 KiB slab, which a
  // cached record would keep alive whole (the cache's byte bound would then understate it)
  const body = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  body.write(text);
  return {
    body,
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

function evidenceOf(leafIndex: number, checkpoint: StoredCheckpoint, proof: Uint8Array[]): LogEvidence {
  return { leafIndex, inclusionProof: { leafIndex, treeSize: checkpoint.size, hashes: proof.map(toBase64) }, checkpoint: checkpoint.note };
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
    const { recordCacheSize, recordCacheBytes, attestationCacheBytes } = ctx.config;
    this.records = new LruCache(recordCacheSize, recordCacheBytes, (key, r) => weighString(key) + r.body.length + weighString(r.etag) + ENTRY_OVERHEAD);
    this.attestations = new LruCache(recordCacheSize, attestationCacheBytes, (key, a) => weighString(key) + weighString(a.token) + ENTRY_OVERHEAD);
  }

  /** Revocations change statuses and attestations (records never change). */
  invalidate(): void {
    this.attestations.clear();
  }

  private async requireTool(toolId: string): Promise<void> {
    if ((await this.ctx.store.getTool(toolId)) === undefined) throw new RegistryError('TOOL_NOT_FOUND', `tool ${toolId} is not published`);
  }

  /**
   * `latest` is the highest version that is neither revoked nor voided by its signer key's
   * revocation (the highest of all if every one is): an index lookup, whatever the number of
   * versions (store.latestLiveVersion), then the tool row.
   */
  async resolveVersion(toolId: string, version: string): Promise<string> {
    if (version !== 'latest') return version;
    const live = await this.ctx.store.latestLiveVersion(toolId);
    if (live !== undefined) return live;
    const tool = await this.ctx.store.getTool(toolId);
    if (tool === undefined) throw new RegistryError('TOOL_NOT_FOUND', `tool ${toolId} is not published`);
    return tool.latest_version;
  }

  private async row(toolId: string, version: string): Promise<VersionRow> {
    const row = await this.ctx.store.getVersion(toolId, version);
    if (row === undefined) {
      await this.requireTool(toolId);
      throw new RegistryError('VERSION_NOT_FOUND', `${toolId}@${version} is not published`);
    }
    return row;
  }

  /** The immutable record, from the cache when possible (the hot read path). */
  async record(toolId: string, version: string): Promise<CachedRecord> {
    const key = `${toolId}@${version}`;
    const hit = this.records.get(key);
    if (hit !== undefined) return hit;
    const cached = serialiseRecord(await this.row(toolId, version));
    this.records.set(key, cached);
    return cached;
  }

  /** Primes the cache with a freshly published record (its first GET is then a hit). */
  remember(row: VersionRow): CachedRecord {
    const cached = serialiseRecord(row);
    this.records.set(`${row.tool_id}@${row.version}`, cached);
    return cached;
  }

  logEvidence(leafIndex: number): Promise<LogEvidence> {
    return this.ctx.log.evidence(leafIndex);
  }

  async status(toolId: string, version: string): Promise<VersionStatus> {
    const { row, status, permissions } = await this.statusOf(toolId, version);
    status.log = await this.logEvidence(row.leaf_index);
    // no attestation for what clients must refuse: a revoked version or a void signature
    if (status.status === 'active') status.attestation = await this.attestation(row, permissions);
    return status;
  }

  /**
   * The status without its attestation (`attestation` is '') and its log evidence (the caller
   * sets it: a bundle set proves all its leaves against one checkpoint), and what an attestation
   * of it would say.
   */
  private async statusOf(toolId: string, version: string): Promise<{ row: VersionRow; status: VersionStatus; permissions: string[] }> {
    const row = await this.row(toolId, version);
    const ctx = this.ctx;
    const key = (await ctx.store.getKey(row.namespace, row.signer_key_id))!;
    const signerKey = toKeyStatus(key, ctx.now());
    // the client verifier's rule (protocol/key-revocation.ts): void if the key was revoked at or
    // before the manifest's issuedAt or its publication here, which bounds a back-dated issuedAt
    const terms = storedTerms(row.signed_manifest);
    const signatureVoid = isSignatureVoid(key.revoked_from, { issuedAt: terms.issuedAt, publishedAt: row.published_at });
    const status: VersionStatus = {
      toolId,
      version,
      status: row.revoked_at === null && !signatureVoid ? 'active' : 'revoked',
      signerKey,
      attestation: '',
      log: undefined as unknown as LogEvidence,
    };
    if (row.revoked_at !== null) status.revocation = { reason: row.revoked_reason!, revokedAt: row.revoked_at, by: row.revoked_by! };
    else if (signatureVoid)
      status.revocation = { reason: `signer key revoked from ${key.revoked_from}: ${key.revoked_reason ?? ''}`, revokedAt: key.revoked_at!, by: `key:${key.key_id}` };
    return { row, status, permissions: terms.permissions };
  }

  /**
   * A bundle set (`POST /v1/bundles`): the bundle of every requested version that exists, one
   * attestation over the active ones, and the versions it does not have. Every inclusion proof is
   * against the same checkpoint, read once after the rows, and their nodes are read together.
   */
  async bundleSet(request: BundleSetRequest): Promise<string> {
    const found: { record: CachedRecord; status: VersionStatus; row: VersionRow }[] = [];
    const attested: AttestedVersion[] = [];
    const missing: BundleSet['missing'] = [];
    const latest: BundleSet['latest'] = [];
    const seen = new Set<string>();
    for (const { toolId, version: asked } of request.versions) {
      let parts: { record: CachedRecord; status: VersionStatus; row: VersionRow; permissions: string[] };
      try {
        const version = await this.resolveVersion(toolId, asked);
        parts = { record: await this.record(toolId, version), ...(await this.statusOf(toolId, version)) };
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
      found.push({ record, status, row });
      if (status.status === 'active') attested.push(attestedVersion(row, permissions));
    }
    // read after the rows: every committed row's leaf is in the checkpoint its transaction signed
    const checkpoint = await this.ctx.log.latestCheckpoint();
    const proofs = await this.ctx.log.inclusionProofs(found.map((f) => f.row.leaf_index), checkpoint.size);
    const bundles = found.map(({ record, status, row }, i) => {
      status.log = evidenceOf(row.leaf_index, checkpoint, proofs[i]!);
      return `{"type":"etdi.bundle/v1","record":${record.body.toString('utf8')},"status":${JSON.stringify(status)}}`;
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

  /**
   * A page of a tool's version summaries, newest first; only those whose definition has
   * `definitionDigest` when given. An index range of `limit` rows (versions are published in
   * semver order, so leaf order is version order); the cursor is the last leaf index served.
   */
  async versions(toolId: string, options: { definitionDigest?: string; cursor?: string; limit: number }): Promise<VersionListResponse> {
    await this.requireTool(toolId);
    const before = options.cursor === undefined || options.cursor === '' ? Number.MAX_SAFE_INTEGER : decodeLeafCursor(options.cursor);
    const rows = await this.ctx.store.versionsPage(toolId, before, options.limit + 1, options.definitionDigest);
    const page = rows.slice(0, options.limit);
    const versions = page.map((r) => ({
      version: r.version,
      status: r.revoked_at === null && r.signature_void === 0 ? ('active' as const) : ('revoked' as const),
      publishedAt: r.published_at,
      manifestDigest: r.manifest_digest,
    }));
    const out: VersionListResponse = { toolId, versions };
    if (rows.length > options.limit) out.nextCursor = Buffer.from(String(page[page.length - 1]!.leaf_index), 'utf8').toString('base64url');
    return out;
  }

  /** Cursor pagination over tool ids (the cursor is the last id, base64url: opaque to clients). */
  async tools(query: string | undefined, cursor: string | undefined, limit: number): Promise<ToolListResponse> {
    let after = '';
    if (cursor !== undefined && cursor !== '') {
      after = Buffer.from(cursor, 'base64url').toString('utf8');
      if (Buffer.from(after, 'utf8').toString('base64url') !== cursor)
        throw new RegistryError('BAD_REQUEST', 'cursor is not one this registry issued');
    }
    const rows = await this.ctx.store.listTools(after, limit + 1, query);
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
