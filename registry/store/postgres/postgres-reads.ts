import type { LogEvent } from '@etdi/schemas';
import type {
  AuditRow,
  KeyRow,
  NamespaceRow,
  RegistryKeyRow,
  StoreCounts,
  StoreReader,
  ToolRow,
  TreeReader,
  VersionRow,
  VersionSummaryRow,
} from '../types.js';
import { named, type Query } from './query.js';
import { PostgresTreeReader } from './postgres-tree.js';

// Explicit column lists, in the row interfaces' terms: a later migration adding a column must not
// change what these methods return.
export const NAMESPACE_COLUMNS = 'namespace, skeleton, verification, registered_at, registered_by, leaf_index, tool_count';
export const KEY_COLUMNS = 'namespace, key_id, jwk, added_at, added_by, leaf_index, revoked_from, revoked_at, revoked_reason';
export const TOOL_COLUMNS = 'tool_id, namespace, name, latest_version, version_count, title, description, created_at, updated_at';
export const VERSION_COLUMNS =
  'tool_id, version, namespace, signed_manifest, manifest_digest, definition_digest, signer_key_id, published_at, published_by, leaf_index, revoked_at, revoked_reason, revoked_by, signature_void';
const VERSION_SUMMARY_COLUMNS = 'version, published_at, manifest_digest, leaf_index, revoked_at, signature_void';
export const AUDIT_COLUMNS = 'leaf_index, at, actor, kind, subject, event';
export const REGISTRY_KEY_COLUMNS = 'kid, purpose, private_jwk, created_at, retired_at, revoked_at';

/**
 * The store's reads (StoreReader) over one `query`: the pool for PostgresStore (committed state),
 * the transaction's connection for its StoreTx (its own writes included).
 */
export class PostgresReader implements StoreReader {
  readonly tree: TreeReader;

  constructor(
    protected readonly query: Query,
    tree: TreeReader = new PostgresTreeReader(query),
  ) {
    this.tree = tree;
  }

  async getNamespace(namespace: string): Promise<NamespaceRow | undefined> {
    return (await this.query<NamespaceRow>(named('read.getNamespace', `SELECT ${NAMESPACE_COLUMNS} FROM namespaces WHERE namespace = $1`), [namespace]))[0];
  }

  async namespacesWithSkeleton(skeleton: string): Promise<string[]> {
    const rows = await this.query<{ namespace: string }>(named('read.namespacesWithSkeleton', 'SELECT namespace FROM namespaces WHERE skeleton = $1 ORDER BY namespace'), [skeleton]);
    return rows.map((r) => r.namespace);
  }

  async toolsOf(namespace: string, limit: number): Promise<ToolRow[]> {
    return this.query<ToolRow>(named('read.toolsOf', `SELECT ${TOOL_COLUMNS} FROM tools WHERE namespace = $1 ORDER BY tool_id LIMIT $2`), [namespace, limit]);
  }

  async countToolsOf(namespace: string): Promise<number> {
    const [row] = await this.query<{ n: number }>(named('read.countToolsOf', 'SELECT tool_count AS n FROM namespaces WHERE namespace = $1'), [namespace]);
    return row?.n ?? 0;
  }

  async getKey(namespace: string, keyId: string): Promise<KeyRow | undefined> {
    return (await this.query<KeyRow>(named('read.getKey', `SELECT ${KEY_COLUMNS} FROM keys WHERE namespace = $1 AND key_id = $2`), [namespace, keyId]))[0];
  }

  async listKeys(namespace: string): Promise<KeyRow[]> {
    return this.query<KeyRow>(named('read.listKeys', `SELECT ${KEY_COLUMNS} FROM keys WHERE namespace = $1 ORDER BY added_at, key_id`), [namespace]);
  }

  async getTool(toolId: string): Promise<ToolRow | undefined> {
    return (await this.query<ToolRow>(named('read.getTool', `SELECT ${TOOL_COLUMNS} FROM tools WHERE tool_id = $1`), [toolId]))[0];
  }

  /**
   * `query` is a substring of the tool id or the description, taken literally: `%`, `_` and `\`
   * are escaped. ILIKE on these COLLATE "C" columns folds ASCII letters only, which is what
   * SQLite's LIKE does (the SQLite store's search), so both stores find the same tools.
   */
  async listTools(afterToolId: string, limit: number, query?: string): Promise<ToolRow[]> {
    if (query === undefined || query === '')
      return this.query<ToolRow>(named('read.listTools', `SELECT ${TOOL_COLUMNS} FROM tools WHERE tool_id > $1 ORDER BY tool_id LIMIT $2`), [afterToolId, limit]);
    const pattern = `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return this.query<ToolRow>(
      named('read.listTools.2', `SELECT ${TOOL_COLUMNS} FROM tools
       WHERE tool_id > $1 AND (tool_id ILIKE $2 ESCAPE '\\' OR coalesce(description, '') ILIKE $2 ESCAPE '\\')
       ORDER BY tool_id LIMIT $3`),
      [afterToolId, pattern, limit],
    );
  }

  async getVersion(toolId: string, version: string): Promise<VersionRow | undefined> {
    return (await this.query<VersionRow>(named('read.getVersion', `SELECT ${VERSION_COLUMNS} FROM versions WHERE tool_id = $1 AND version = $2`), [toolId, version]))[0];
  }

  /** In publish order (leaf order, which is version order). */
  async listVersions(toolId: string): Promise<VersionRow[]> {
    return this.query<VersionRow>(named('read.listVersions', `SELECT ${VERSION_COLUMNS} FROM versions WHERE tool_id = $1 ORDER BY leaf_index`), [toolId]);
  }

  /** The last row of the partial index versions_live for the tool: one lookup at any number of versions. */
  async latestLiveVersion(toolId: string): Promise<string | undefined> {
    const [row] = await this.query<{ version: string }>(
      named('read.latestLiveVersion', 'SELECT version FROM versions WHERE tool_id = $1 AND revoked_at IS NULL AND signature_void = 0 ORDER BY leaf_index DESC LIMIT 1'),
      [toolId],
    );
    return row?.version;
  }

  async versionsPage(toolId: string, beforeLeaf: number, limit: number, definitionDigest?: string): Promise<VersionSummaryRow[]> {
    if (definitionDigest === undefined)
      return this.query<VersionSummaryRow>(
        named('read.versionsPage', `SELECT ${VERSION_SUMMARY_COLUMNS} FROM versions WHERE tool_id = $1 AND leaf_index < $2 ORDER BY leaf_index DESC LIMIT $3`),
        [toolId, beforeLeaf, limit],
      );
    return this.query<VersionSummaryRow>(
      named('read.versionsPage.2', `SELECT ${VERSION_SUMMARY_COLUMNS} FROM versions WHERE tool_id = $1 AND definition_digest = $2 AND leaf_index < $3 ORDER BY leaf_index DESC LIMIT $4`),
      [toolId, definitionDigest, beforeLeaf, limit],
    );
  }

  async auditTail(n: number, kinds?: readonly LogEvent['kind'][]): Promise<AuditRow[]> {
    if (kinds === undefined) return this.query<AuditRow>(named('read.auditTail', `SELECT ${AUDIT_COLUMNS} FROM audit ORDER BY leaf_index DESC LIMIT $1`), [n]);
    return this.query<AuditRow>(named('read.auditTail.2', `SELECT ${AUDIT_COLUMNS} FROM audit WHERE kind = ANY($1::text[]) ORDER BY leaf_index DESC LIMIT $2`), [kinds, n]);
  }

  async auditRange(start: number, end: number): Promise<AuditRow[]> {
    return this.query<AuditRow>(named('read.auditRange', `SELECT ${AUDIT_COLUMNS} FROM audit WHERE leaf_index >= $1 AND leaf_index < $2 ORDER BY leaf_index`), [start, end]);
  }

  async registryKeys(purpose: 'jwt' | 'log'): Promise<RegistryKeyRow[]> {
    return this.query<RegistryKeyRow>(named('read.registryKeys', `SELECT ${REGISTRY_KEY_COLUMNS} FROM registry_keys WHERE purpose = $1 ORDER BY created_at, kid`), [purpose]);
  }

  /** One statement, so the counts are of one snapshot. */
  async counts(): Promise<StoreCounts> {
    const [row] = await this.query<StoreCounts>(named('read.counts', `SELECT
      (SELECT count(*) FROM namespaces) AS "namespaces",
      (SELECT count(*) FROM keys) AS "keys",
      (SELECT count(*) FROM keys WHERE revoked_from IS NOT NULL) AS "revokedKeys",
      (SELECT count(*) FROM tools) AS "tools",
      (SELECT count(*) FROM versions) AS "versions",
      (SELECT count(*) FROM versions WHERE revoked_at IS NOT NULL) AS "revokedVersions",
      (SELECT count(*) FROM audit) AS "audit",
      (SELECT count(*) FROM used_statements) AS "usedStatements"`));
    return row!;
  }
}
