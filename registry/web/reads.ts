import semver from 'semver';
import { declarationTerms, type SignedTerms } from '@etdi/client';
import type { KeyStatus, LogEvent, NamespaceInfo, SignedDeclaration, SignedManifest, ToolListResponse, VersionStatus } from '@etdi/schemas';
import { RegistryError } from '../errors.js';
import { isRevokedAt } from '../services/auth.js';
import type { RegistryContext } from '../services/context.js';
import { getNamespaceInfo, listNamespaceKeys } from '../services/namespaces.js';
import type { ReadService } from '../services/reads.js';
import { isStoredDeclaration, storedTerms } from '../services/stored-document.js';
import type { AuditRow, ToolRow, VersionRow } from '../store/types.js';

const decoded = (rows: AuditRow[]) => rows.map((r) => ({ leafIndex: r.leaf_index, event: JSON.parse(r.event) as LogEvent }));

/** What the home page shows. */
export interface HomeSummary {
  counts: { namespaces: number; tools: number; versions: number; revokedVersions: number; logSize: number };
  publishes: { leafIndex: number; event: Extract<LogEvent, { kind: 'version.published' }> }[];
  revocations: { leafIndex: number; event: Extract<LogEvent, { kind: 'version.revoked' | 'key.revoked' }> }[];
}

/** One version of a tool as the tool page lists it. */
export interface VersionSummary {
  version: string;
  publishedAt: string;
  signerKeyId: string;
  status: VersionStatus['status'];
  revocation?: VersionStatus['revocation'];
  leafIndex: number;
}

/**
 * A version's signed document in the format it was published in: our own signed manifest
 * (POST /v1/tools) or one tool of a SEP-3140 capability manifest (POST /v1/declarations).
 */
export type SignedDocument = { format: 'manifest'; signedManifest: SignedManifest } | { format: 'sep3140'; signedDeclaration: SignedDeclaration };

/** A version with its signed document (read for display: the browser verifies it, not this). */
export interface VersionDetail extends VersionSummary {
  toolId: string;
  provider: string;
  signed: SignedDocument;
  definitionDigest: string;
  manifestDigest: string;
  signerKey: KeyStatus;
}

/** The stored document, JCS of what was strictly parsed at publication (see services/reads.ts toVersionRecord). */
function toSignedDocument(stored: string): SignedDocument {
  return isStoredDeclaration(stored)
    ? { format: 'sep3140', signedDeclaration: JSON.parse(stored) as SignedDeclaration }
    : { format: 'manifest', signedManifest: JSON.parse(stored) as SignedManifest };
}

/** What a signed document vouches for about its tool, whatever its format: the client's terms (what the pin rows compare). */
export function signedTermsOf(signed: SignedDocument): SignedTerms {
  return signed.format === 'manifest' ? signed.signedManifest.manifest : declarationTerms(signed.signedDeclaration.declaration);
}

/**
 * The web interface's reads: everything goes through the store's and the read service's methods
 * (no SQL here), so the pages show what the API serves.
 */
export class WebReads {
  constructor(
    private readonly ctx: RegistryContext,
    private readonly reads: ReadService,
  ) {}

  async home(limit = 10): Promise<HomeSummary> {
    const c = await this.ctx.store.counts();
    return {
      counts: { namespaces: c.namespaces, tools: c.tools, versions: c.versions, revokedVersions: c.revokedVersions, logSize: await this.ctx.log.size() },
      publishes: decoded(await this.ctx.store.auditTail(limit, ['version.published'])) as HomeSummary['publishes'],
      revocations: decoded(await this.ctx.store.auditTail(limit, ['version.revoked', 'key.revoked'])) as HomeSummary['revocations'],
    };
  }

  search(query: string | undefined, cursor: string | undefined, limit = 50): Promise<ToolListResponse> {
    return this.reads.tools(query, cursor, limit);
  }

  async tool(toolId: string): Promise<ToolRow> {
    const row = await this.ctx.store.getTool(toolId);
    if (row === undefined) throw new RegistryError('TOOL_NOT_FOUND', `tool ${toolId} is not published`);
    return row;
  }

  /** Every version, newest first, with its status as the API serves it. */
  async versions(toolId: string): Promise<VersionSummary[]> {
    await this.tool(toolId);
    const rows = (await this.ctx.store.listVersions(toolId)).sort((a, b) => semver.rcompare(a.version, b.version));
    return Promise.all(rows.map((row) => this.summary(row)));
  }

  private async summary(row: VersionRow): Promise<VersionSummary> {
    const key = await this.ctx.store.getKey(row.namespace, row.signer_key_id);
    // the API's rule (services/reads.ts statusOf): void when the key was revoked at or before the manifest's time
    const issuedAt = Date.parse(storedTerms(row.signed_manifest).issuedAt);
    const revokedByKey = key !== undefined && isRevokedAt(key, issuedAt);
    const out: VersionSummary = {
      version: row.version,
      publishedAt: row.published_at,
      signerKeyId: row.signer_key_id,
      status: row.revoked_at === null && !revokedByKey ? 'active' : 'revoked',
      leafIndex: row.leaf_index,
    };
    if (row.revoked_at !== null) out.revocation = { reason: row.revoked_reason ?? '', revokedAt: row.revoked_at, by: row.revoked_by ?? '' };
    else if (revokedByKey) out.revocation = { reason: `signer key revoked from ${key.revoked_from}: ${key.revoked_reason ?? ''}`, revokedAt: key.revoked_at!, by: `key:${key.key_id}` };
    return out;
  }

  /** `latest` resolves as the API does (the highest version not revoked). */
  async version(toolId: string, version: string): Promise<VersionDetail> {
    const resolved = await this.reads.resolveVersion(toolId, version);
    const row = await this.ctx.store.getVersion(toolId, resolved);
    if (row === undefined) {
      await this.tool(toolId);
      throw new RegistryError('VERSION_NOT_FOUND', `${toolId}@${resolved} is not published`);
    }
    const key = (await this.ctx.store.getKey(row.namespace, row.signer_key_id))!;
    return {
      ...(await this.summary(row)),
      toolId,
      provider: row.namespace,
      signed: toSignedDocument(row.signed_manifest),
      definitionDigest: row.definition_digest,
      manifestDigest: row.manifest_digest,
      signerKey: (await listNamespaceKeys(this.ctx, row.namespace)).find((k) => k.keyId === key.key_id)!,
    };
  }

  async namespace(namespace: string, toolLimit = 200): Promise<{ info: NamespaceInfo; keys: KeyStatus[]; tools: ToolRow[] }> {
    return {
      info: await getNamespaceInfo(this.ctx, namespace),
      keys: await listNamespaceKeys(this.ctx, namespace),
      tools: await this.ctx.store.toolsOf(namespace, toolLimit),
    };
  }

  /** The log's latest checkpoint and a page of entries (newest first when `start` is absent). */
  async log(start: number | undefined, pageSize = 25): Promise<{ checkpoint: { size: number; note: string }; start: number; entries: { index: number; data: string }[] }> {
    const log = this.ctx.log;
    const { size, note } = await log.latestCheckpoint();
    const from = Math.max(0, Math.min(start ?? size - pageSize, size));
    const entries = (await log.entries(from, Math.min(from + pageSize, size))).map((e) => ({ index: e.index, data: Buffer.from(e.data).toString('utf8') }));
    return { checkpoint: { size, note }, start: from, entries };
  }
}
