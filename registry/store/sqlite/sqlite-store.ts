import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LogEvent } from '@etdi/schemas';
import type {
  AuditRow,
  KeyRow,
  NamespaceRow,
  RegistryKeyRow,
  Store,
  StoreCounts,
  StoreTx,
  ToolRow,
  VersionRow,
  VersionSummaryRow,
} from '../types.js';
import { LogError } from '../../log/errors.js';
import { migrate, MIGRATIONS } from './migrations.js';
import { LOG_SCHEMA, SqliteTree, treeStatements, type TreeStatements } from './tree.js';

export const DEFAULT_DB_PATH = './data/registry.db';

export interface OpenSqliteOptions {
  /** SQLite file; `./data/registry.db` by default. Its directory is created (0700). */
  path?: string;
  /** Open read-only, without migrating (`etdi log verify` on a copy). */
  readonly?: boolean;
  /**
   * The log's C2SP origin line: recorded in a new database, and a database holding another
   * log's origin is refused (LOG_CONFIG), as the PostgreSQL store does. TransparencyLog.open
   * checks it too; giving it here refuses the wrong file before anything else runs.
   */
  logOrigin?: string;
}

/** Records `origin` in a new database; LOG_CONFIG when the database holds another log. */
function checkOrigin(db: Database.Database, origin: string, path: string): void {
  const row = db.prepare<[], { value: string }>("SELECT value FROM log_meta WHERE name = 'origin'").get();
  if (row === undefined) db.prepare("INSERT INTO log_meta (name, value) VALUES ('origin', ?)").run(origin);
  else if (row.value !== origin) {
    db.close();
    throw new LogError('LOG_CONFIG', `the database ${path} holds the log "${row.value}", not "${origin}"`);
  }
}

/** Stands for the statements of a transaction that ended: any use throws. */
const ended = new Proxy(
  {},
  {
    get: () => {
      throw new Error('this StoreTx belongs to a transaction that has ended; use the one the current transaction gives');
    },
  },
);

type Statements = ReturnType<typeof statements>;

/** Prepared statements of one connection: the reads and writes of store/types.ts. */
function statements(db: Database.Database) {
  return {
    getNamespace: db.prepare<[string], NamespaceRow>('SELECT * FROM namespaces WHERE namespace = ?'),
    namespacesBySkeleton: db.prepare<[string], { namespace: string }>('SELECT namespace FROM namespaces WHERE skeleton = ?'),
    insertNamespace: db.prepare(
      'INSERT INTO namespaces (namespace, skeleton, verification, registered_at, registered_by, leaf_index) VALUES (@namespace, @skeleton, @verification, @registered_at, @registered_by, @leaf_index)',
    ),
    getKey: db.prepare<[string, string], KeyRow>('SELECT * FROM keys WHERE namespace = ? AND key_id = ?'),
    listKeys: db.prepare<[string], KeyRow>('SELECT * FROM keys WHERE namespace = ? ORDER BY added_at, key_id'),
    insertKey: db.prepare(
      'INSERT INTO keys (namespace, key_id, jwk, added_at, added_by, leaf_index) VALUES (@namespace, @key_id, @jwk, @added_at, @added_by, @leaf_index)',
    ),
    revokeKey: db.prepare(
      'UPDATE keys SET revoked_from = @revoked_from, revoked_at = @revoked_at, revoked_reason = @revoked_reason WHERE namespace = @namespace AND key_id = @key_id',
    ),
    signedBy: db.prepare<[string, string], { tool_id: string; version: string; issued_at: string; published_at: string }>(
      "SELECT tool_id, version, json_extract(signed_manifest, '$.manifest.issuedAt') AS issued_at, published_at FROM versions WHERE namespace = ? AND signer_key_id = ? AND signature_void = 0",
    ),
    markVoid: db.prepare<[string, string]>('UPDATE versions SET signature_void = 1 WHERE tool_id = ? AND version = ?'),
    getTool: db.prepare<[string], ToolRow>('SELECT * FROM tools WHERE tool_id = ?'),
    insertTool: db.prepare(
      'INSERT INTO tools (tool_id, namespace, name, latest_version, version_count, title, description, created_at, updated_at) VALUES (@tool_id, @namespace, @name, @latest_version, 1, @title, @description, @created_at, @updated_at)',
    ),
    updateTool: db.prepare(
      'UPDATE tools SET latest_version = @latest_version, version_count = version_count + 1, title = @title, description = @description, updated_at = @updated_at WHERE tool_id = @tool_id',
    ),
    listTools: db.prepare<[string, number], ToolRow>('SELECT * FROM tools WHERE tool_id > ? ORDER BY tool_id LIMIT ?'),
    searchTools: db.prepare<[string, string, string, number], ToolRow>(
      "SELECT * FROM tools WHERE tool_id > ? AND (tool_id LIKE ? ESCAPE '\\' OR coalesce(description, '') LIKE ? ESCAPE '\\') ORDER BY tool_id LIMIT ?",
    ),
    countToolsOf: db.prepare<[string], { n: number }>('SELECT tool_count AS n FROM namespaces WHERE namespace = ?'),
    countTool: db.prepare<[string]>('UPDATE namespaces SET tool_count = tool_count + 1 WHERE namespace = ?'),
    getVersion: db.prepare<[string, string], VersionRow>('SELECT * FROM versions WHERE tool_id = ? AND version = ?'),
    listVersions: db.prepare<[string], VersionRow>('SELECT * FROM versions WHERE tool_id = ? ORDER BY leaf_index'),
    // the first row of the partial index versions_live: one lookup at any number of versions
    latestLive: db.prepare<[string], { version: string }>(
      'SELECT version FROM versions INDEXED BY versions_live WHERE tool_id = ? AND revoked_at IS NULL AND signature_void = 0 ORDER BY leaf_index DESC LIMIT 1',
    ),
    versionsPage: db.prepare<[string, number, number], VersionSummaryRow>(
      'SELECT version, published_at, manifest_digest, leaf_index, revoked_at, signature_void FROM versions WHERE tool_id = ? AND leaf_index < ? ORDER BY leaf_index DESC LIMIT ?',
    ),
    versionsPageByDefinition: db.prepare<[string, string, number, number], VersionSummaryRow>(
      'SELECT version, published_at, manifest_digest, leaf_index, revoked_at, signature_void FROM versions WHERE tool_id = ? AND definition_digest = ? AND leaf_index < ? ORDER BY leaf_index DESC LIMIT ?',
    ),
    insertVersion: db.prepare(
      'INSERT INTO versions (tool_id, version, namespace, signed_manifest, manifest_digest, definition_digest, signer_key_id, published_at, published_by, leaf_index) VALUES (@tool_id, @version, @namespace, @signed_manifest, @manifest_digest, @definition_digest, @signer_key_id, @published_at, @published_by, @leaf_index)',
    ),
    revokeVersion: db.prepare(
      'UPDATE versions SET revoked_at = @revoked_at, revoked_reason = @revoked_reason, revoked_by = @revoked_by WHERE tool_id = @tool_id AND version = @version',
    ),
    insertAudit: db.prepare('INSERT INTO audit (leaf_index, at, actor, kind, subject, event) VALUES (@leaf_index, @at, @actor, @kind, @subject, @event)'),
    auditTail: db.prepare<[number], AuditRow>('SELECT * FROM audit ORDER BY leaf_index DESC LIMIT ?'),
    auditTailOfKinds: db.prepare<[string, number], AuditRow>(
      'SELECT * FROM audit WHERE kind IN (SELECT value FROM json_each(?)) ORDER BY leaf_index DESC LIMIT ?',
    ),
    auditRange: db.prepare<[number, number], AuditRow>('SELECT * FROM audit WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index'),
    toolsOf: db.prepare<[string, number], ToolRow>('SELECT * FROM tools WHERE namespace = ? ORDER BY tool_id LIMIT ?'),
    useStatement: db.prepare('INSERT OR IGNORE INTO used_statements (digest, expires_at) VALUES (?, ?)'),
    purgeStatements: db.prepare('DELETE FROM used_statements WHERE expires_at < ?'),
    registryKeys: db.prepare<[string], RegistryKeyRow>('SELECT * FROM registry_keys WHERE purpose = ? ORDER BY created_at, kid'),
    insertRegistryKey: db.prepare(
      'INSERT INTO registry_keys (kid, purpose, private_jwk, created_at, retired_at) VALUES (@kid, @purpose, @private_jwk, @created_at, NULL)',
    ),
    retireRegistryKeys: db.prepare('UPDATE registry_keys SET retired_at = ? WHERE purpose = ? AND retired_at IS NULL AND kid != ?'),
    revokeRegistryKey: db.prepare<[{ at: number; kid: string }]>(
      'UPDATE registry_keys SET revoked_at = @at, retired_at = coalesce(retired_at, @at) WHERE kid = @kid AND revoked_at IS NULL',
    ),
    counts: db.prepare<[], StoreCounts>(`SELECT
      (SELECT count(*) FROM namespaces) AS namespaces,
      (SELECT count(*) FROM keys) AS keys,
      (SELECT count(*) FROM keys WHERE revoked_from IS NOT NULL) AS revokedKeys,
      (SELECT count(*) FROM tools) AS tools,
      (SELECT count(*) FROM versions) AS versions,
      (SELECT count(*) FROM versions WHERE revoked_at IS NOT NULL) AS revokedVersions,
      (SELECT count(*) FROM audit) AS audit,
      (SELECT count(*) FROM used_statements) AS usedStatements`),
  };
}

/**
 * The store's reads and writes on one connection. On the read connection only the reads are
 * reachable (through Store); the write connection's view is the StoreTx of a transaction.
 */
class SqliteView implements StoreTx {
  readonly tree: SqliteTree;
  private savepoints = 0;

  constructor(
    private readonly db: Database.Database,
    private s: Statements,
    tree: TreeStatements,
    /** Called when a write changes a namespace's keys (the committed-read cache forgets them). */
    private readonly onKeysWritten: () => void = () => undefined,
  ) {
    this.tree = new SqliteTree(tree);
  }

  /** A transaction's view, once it ended: every later call fails instead of writing outside it. */
  end(): void {
    this.s = ended as Statements;
    this.tree.end(ended as TreeStatements);
  }

  async getNamespace(namespace: string) {
    return this.s.getNamespace.get(namespace);
  }
  async namespacesWithSkeleton(skeleton: string) {
    return this.s.namespacesBySkeleton.all(skeleton).map((r) => r.namespace);
  }
  async toolsOf(namespace: string, limit: number) {
    return this.s.toolsOf.all(namespace, limit);
  }
  async countToolsOf(namespace: string) {
    return this.s.countToolsOf.get(namespace)?.n ?? 0;
  }
  async getKey(namespace: string, keyId: string) {
    return this.s.getKey.get(namespace, keyId);
  }
  async listKeys(namespace: string) {
    return this.s.listKeys.all(namespace);
  }
  async getTool(toolId: string) {
    return this.s.getTool.get(toolId);
  }
  async listTools(afterToolId: string, limit: number, query?: string) {
    if (query === undefined || query === '') return this.s.listTools.all(afterToolId, limit);
    const pattern = `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return this.s.searchTools.all(afterToolId, pattern, pattern, limit);
  }
  async getVersion(toolId: string, version: string) {
    return this.s.getVersion.get(toolId, version);
  }
  async listVersions(toolId: string) {
    return this.s.listVersions.all(toolId);
  }
  async latestLiveVersion(toolId: string) {
    return this.s.latestLive.get(toolId)?.version;
  }
  async versionsPage(toolId: string, beforeLeaf: number, limit: number, definitionDigest?: string) {
    if (definitionDigest === undefined) return this.s.versionsPage.all(toolId, beforeLeaf, limit);
    return this.s.versionsPageByDefinition.all(toolId, definitionDigest, beforeLeaf, limit);
  }
  async auditTail(n: number, kinds?: readonly LogEvent['kind'][]) {
    return kinds === undefined ? this.s.auditTail.all(n) : this.s.auditTailOfKinds.all(JSON.stringify(kinds), n);
  }
  async auditRange(start: number, end: number) {
    return this.s.auditRange.all(start, end);
  }
  async registryKeys(purpose: 'jwt' | 'log') {
    return this.s.registryKeys.all(purpose);
  }
  async counts() {
    return this.s.counts.get()!;
  }

  async insertNamespace(row: Omit<NamespaceRow, 'tool_count'>) {
    this.s.insertNamespace.run(row);
  }
  async insertKey(row: Omit<KeyRow, 'revoked_from' | 'revoked_at' | 'revoked_reason'>) {
    this.onKeysWritten();
    this.s.insertKey.run(row);
  }
  async revokeKey(namespace: string, keyId: string, revokedFrom: string, revokedAt: string, reason: string) {
    this.onKeysWritten();
    this.s.revokeKey.run({ namespace, key_id: keyId, revoked_from: revokedFrom, revoked_at: revokedAt, revoked_reason: reason });
  }
  async signedBy(namespace: string, keyId: string) {
    return this.s.signedBy.all(namespace, keyId);
  }
  async markSignatureVoid(toolId: string, version: string) {
    this.s.markVoid.run(toolId, version);
  }
  async insertTool(row: ToolRow) {
    this.s.insertTool.run(row);
    this.s.countTool.run(row.namespace);
  }
  async updateTool(row: Pick<ToolRow, 'tool_id' | 'latest_version' | 'title' | 'description' | 'updated_at'>) {
    this.s.updateTool.run(row);
  }
  async insertVersion(row: Omit<VersionRow, 'revoked_at' | 'revoked_reason' | 'revoked_by' | 'signature_void'>) {
    this.s.insertVersion.run(row);
  }
  async revokeVersion(toolId: string, version: string, revokedAt: string, reason: string, by: string) {
    this.s.revokeVersion.run({ tool_id: toolId, version, revoked_at: revokedAt, revoked_reason: reason, revoked_by: by });
  }
  async insertAudit(row: AuditRow) {
    this.s.insertAudit.run(row);
  }
  async useStatement(digest: string, expiresAtSeconds: number, nowSeconds: number) {
    this.s.purgeStatements.run(nowSeconds);
    return this.s.useStatement.run(digest, expiresAtSeconds).changes === 1;
  }
  async insertRegistryKey(row: Omit<RegistryKeyRow, 'retired_at' | 'revoked_at'>) {
    this.s.insertRegistryKey.run(row);
  }
  async retireRegistryKeys(purpose: 'jwt' | 'log', keepKid: string, atSeconds: number) {
    this.s.retireRegistryKeys.run(atSeconds, purpose, keepKid);
  }
  async revokeRegistryKey(kid: string, atSeconds: number) {
    return this.s.revokeRegistryKey.run({ at: atSeconds, kid }).changes === 1;
  }

  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    const name = `sp${++this.savepoints}`;
    this.db.exec(`SAVEPOINT ${name}`);
    try {
      const value = await fn();
      this.db.exec(`RELEASE ${name}`);
      return value;
    } catch (error) {
      this.db.exec(`ROLLBACK TO ${name}`);
      this.db.exec(`RELEASE ${name}`);
      throw error;
    } finally {
      this.savepoints--;
    }
  }
}

/**
 * The registry's SQLite store, the embedded default: one file, one registry process (the data
 * directory lock, store/data-lock.ts, keeps a second one out). Durability: WAL with
 * `synchronous = FULL`, so a COMMIT returns only after the WAL is on stable storage, and SQLite
 * makes a commit visible to other connections only after that sync.
 *
 * Two connections: reads run on one and see committed state only; transactions run on the
 * other. Transaction callbacks are async (the interface is PostgreSQL's too), so while one
 * awaits, other requests' reads run on the event loop: on their own connection they cannot see
 * its uncommitted rows. Transactions are serialised here (one at a time on the write connection);
 * another connection to the file (the write worker's) waits on SQLite's own lock.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  readonly location: string;
  /** The read connection (committed state); migrations ran on the write one. */
  readonly db: Database.Database;
  private readonly writeDb: Database.Database;
  private readonly reader: SqliteView;
  /** The write connection's statements: each transaction gets its own view over them. */
  private readonly writeStatements: { s: Statements; tree: TreeStatements };
  private chain: Promise<unknown> = Promise.resolve();
  private keysWritten = false;
  private readonly closeHooks: (() => void | Promise<void>)[] = [];
  /**
   * Committed key rows by namespace, for reads outside transactions (every publish and every
   * authenticated request reads them). Cleared when a transaction that wrote keys commits or
   * rolls back; only this object's connections write keys (one registry process per file).
   */
  private readonly keyCache = new Map<string, KeyRow[]>();

  static open(options: OpenSqliteOptions = {}): SqliteStore {
    return new SqliteStore(options);
  }

  private constructor(options: OpenSqliteOptions) {
    this.path = options.path ?? DEFAULT_DB_PATH;
    this.location = this.path;
    const memory = this.path === ':memory:';
    if (options.readonly) {
      this.writeDb = new Database(this.path, { readonly: true, fileMustExist: true });
    } else {
      const fresh = !memory && !existsSync(this.path);
      if (!memory) mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      this.writeDb = new Database(this.path);
      // the file holds the registry's private signing keys: owner only
      if (fresh) chmodSync(this.path, 0o600);
      this.writeDb.pragma('journal_mode = WAL');
      this.writeDb.pragma('synchronous = FULL');
      this.writeDb.pragma('foreign_keys = ON');
      this.writeDb.pragma('busy_timeout = 5000');
      migrate(this.writeDb);
      this.writeDb.exec(LOG_SCHEMA);
      if (options.logOrigin !== undefined) checkOrigin(this.writeDb, options.logOrigin, this.path);
    }
    // a second connection to ':memory:' would be another, empty database: one connection there
    // (tests only), where a read during a transaction can see its rows
    this.db = memory || options.readonly ? this.writeDb : new Database(this.path, { readonly: true });
    if (this.db !== this.writeDb) this.db.pragma('busy_timeout = 5000');
    this.reader = new SqliteView(this.db, statements(this.db), treeStatements(this.db));
    this.writeStatements = { s: statements(this.writeDb), tree: treeStatements(this.writeDb) };
  }

  get tree() {
    return this.reader.tree;
  }

  /** The write connection (the write worker's stats, backups). */
  get writeConnection(): Database.Database {
    return this.writeDb;
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      // IMMEDIATE: the write lock now, not at the first write (no upgrade deadlock with the worker)
      this.writeDb.exec('BEGIN IMMEDIATE');
      const tx = new SqliteView(this.writeDb, this.writeStatements.s, this.writeStatements.tree, () => (this.keysWritten = true));
      try {
        const value = await fn(tx);
        this.writeDb.exec('COMMIT');
        return value;
      } catch (error) {
        if (this.writeDb.inTransaction) this.writeDb.exec('ROLLBACK');
        throw error;
      } finally {
        tx.end();
        if (this.keysWritten) {
          this.keysWritten = false;
          this.keyCache.clear();
        }
      }
    };
    const result = this.chain.then(run, run);
    this.chain = result.catch(() => undefined);
    return result;
  }

  async schemaVersion(): Promise<{ current: number; latest: number }> {
    return { current: this.db.pragma('user_version', { simple: true }) as number, latest: MIGRATIONS.length };
  }

  /** Runs `hook` when the store closes, before its own connections (the write worker's, see WriteQueue). */
  onClose(hook: () => void | Promise<void>): void {
    this.closeHooks.push(hook);
  }

  async close(): Promise<void> {
    for (const hook of this.closeHooks.splice(0)) await hook();
    await this.chain;
    if (this.db !== this.writeDb && this.db.open) this.db.close();
    if (this.writeDb.open) this.writeDb.close();
  }

  // --- reads: committed state, on the read connection -----------------------------------------

  async getKey(namespace: string, keyId: string) {
    return (await this.listKeys(namespace)).find((k) => k.key_id === keyId);
  }
  async listKeys(namespace: string) {
    let rows = this.keyCache.get(namespace);
    if (rows === undefined) {
      if (this.keyCache.size >= 4096) this.keyCache.clear();
      rows = await this.reader.listKeys(namespace);
      for (const row of rows) Object.freeze(row);
      this.keyCache.set(namespace, rows);
    }
    return rows;
  }
  getNamespace(namespace: string) {
    return this.reader.getNamespace(namespace);
  }
  namespacesWithSkeleton(skeleton: string) {
    return this.reader.namespacesWithSkeleton(skeleton);
  }
  toolsOf(namespace: string, limit: number) {
    return this.reader.toolsOf(namespace, limit);
  }
  countToolsOf(namespace: string) {
    return this.reader.countToolsOf(namespace);
  }
  getTool(toolId: string) {
    return this.reader.getTool(toolId);
  }
  listTools(afterToolId: string, limit: number, query?: string) {
    return this.reader.listTools(afterToolId, limit, query);
  }
  getVersion(toolId: string, version: string) {
    return this.reader.getVersion(toolId, version);
  }
  listVersions(toolId: string) {
    return this.reader.listVersions(toolId);
  }
  latestLiveVersion(toolId: string) {
    return this.reader.latestLiveVersion(toolId);
  }
  versionsPage(toolId: string, beforeLeaf: number, limit: number, definitionDigest?: string) {
    return this.reader.versionsPage(toolId, beforeLeaf, limit, definitionDigest);
  }
  auditTail(n: number, kinds?: readonly LogEvent['kind'][]) {
    return this.reader.auditTail(n, kinds);
  }
  auditRange(start: number, end: number) {
    return this.reader.auditRange(start, end);
  }
  registryKeys(purpose: 'jwt' | 'log') {
    return this.reader.registryKeys(purpose);
  }
  counts() {
    return this.reader.counts();
  }
}
