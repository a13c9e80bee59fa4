import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { canonicalize, confusableSkeleton, generateKeyPair, parseStrictJson } from '@etdi/protocol';
import type { Ed25519PrivateJwk, Ed25519PublicJwk, LogEvent } from '@etdi/schemas';
import { TransparencyLog } from '../log/transparency-log.js';
import { toLeafData } from '../log/leaf.js';
import { markVoidSignatures, migrate } from './migrations.js';

export const DEFAULT_DB_PATH = './data/registry.db';

export interface NamespaceRow {
  namespace: string;
  skeleton: string;
  verification: 'well-known' | 'admin-grant';
  registered_at: string;
  registered_by: string;
  leaf_index: number;
  /** How many tools the namespace has (the per-namespace limit reads it). */
  tool_count: number;
}

export interface KeyRow {
  namespace: string;
  key_id: string;
  jwk: string;
  added_at: string;
  added_by: string;
  leaf_index: number;
  revoked_from: string | null;
  revoked_at: string | null;
  revoked_reason: string | null;
}

export interface ToolRow {
  tool_id: string;
  namespace: string;
  name: string;
  /** The highest version published (revoked or not). */
  latest_version: string;
  /** How many versions the tool has (the per-tool limit reads it). */
  version_count: number;
  title: string | null;
  description: string | null;
  created_at: string;
  updated_at: string;
}

export interface VersionRow {
  tool_id: string;
  version: string;
  namespace: string;
  signed_manifest: string;
  manifest_digest: string;
  definition_digest: string;
  signer_key_id: string;
  published_at: string;
  published_by: string;
  leaf_index: number;
  revoked_at: string | null;
  revoked_reason: string | null;
  revoked_by: string | null;
  /** 1 when its signer key's revocation voids the signature (protocol/key-revocation.ts). */
  signature_void: number;
}

/** What the versions list serves of a version: no manifest. */
export type VersionSummaryRow = Pick<VersionRow, 'version' | 'published_at' | 'manifest_digest' | 'leaf_index' | 'revoked_at' | 'signature_void'>;

export interface RegistryKeyRow {
  kid: string;
  purpose: 'jwt' | 'log';
  private_jwk: string;
  created_at: number;
  retired_at: number | null;
  /** Set by an emergency revocation: the key is out of the JWKS and verifies nothing from then on. */
  revoked_at: number | null;
}

export interface StoreCounts {
  namespaces: number;
  keys: number;
  revokedKeys: number;
  tools: number;
  versions: number;
  revokedVersions: number;
  audit: number;
  usedStatements: number;
}

export interface OpenStoreOptions {
  /** SQLite file; `./data/registry.db` by default. Its directory is created (0700). */
  path?: string;
  /** The log's C2SP origin line (e.g. `registry.example/etdi-log`). */
  logOrigin: string;
}

/**
 * The registry's SQLite store. Durability: WAL with `synchronous = FULL`, so a commit returns
 * only after the WAL is on stable storage (every acknowledged write survives power loss).
 * All methods are synchronous; writes run inside `transaction` (see services/write-queue.ts).
 */
export class RegistryStore {
  readonly db: Database.Database;
  readonly path: string;
  readonly logOrigin: string;
  private currentLog: TransparencyLog;
  private readonly s;
  private readonly closeHooks: (() => void)[] = [];
  /**
   * Committed key rows by namespace, read outside transactions only (every publish and every
   * authenticated request reads them: two SQLite reads per publish on the event loop). Keys are
   * written only through insertKey/revokeKey on the connection that owns this object (the write
   * worker's connection never writes them), and each of those clears the cache; reads inside a
   * transaction neither use nor fill it, so rolled-back rows never enter it. A registry database
   * has one registry process: another process writing keys is not supported.
   */
  private readonly keyCache = new Map<string, readonly KeyRow[]>();

  static open(options: OpenStoreOptions): RegistryStore {
    return new RegistryStore(options);
  }

  private constructor(options: OpenStoreOptions) {
    this.path = options.path ?? DEFAULT_DB_PATH;
    this.logOrigin = options.logOrigin;
    const fresh = this.path !== ':memory:' && !existsSync(this.path);
    if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    this.db = new Database(this.path);
    // the file holds the registry's private signing keys: owner only
    if (fresh) chmodSync(this.path, 0o600);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
    const db = this.db;
    this.s = {
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
      listVersions: db.prepare<[string], VersionRow>('SELECT * FROM versions WHERE tool_id = ?'),
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
      insertAudit: db.prepare(
        'INSERT INTO audit (leaf_index, at, actor, kind, subject, event) VALUES (@leaf_index, @at, @actor, @kind, @subject, @event)',
      ),
      auditTail: db.prepare<[number], { leaf_index: number; event: string }>('SELECT leaf_index, event FROM audit ORDER BY leaf_index DESC LIMIT ?'),
      auditTailOfKinds: db.prepare<[string, number], { leaf_index: number; event: string }>(
        'SELECT leaf_index, event FROM audit WHERE kind IN (SELECT value FROM json_each(?)) ORDER BY leaf_index DESC LIMIT ?',
      ),
      toolsOf: db.prepare<[string, number], ToolRow>('SELECT * FROM tools WHERE namespace = ? ORDER BY tool_id LIMIT ?'),
      useStatement: db.prepare('INSERT OR IGNORE INTO used_statements (digest, expires_at) VALUES (?, ?)'),
      purgeStatements: db.prepare('DELETE FROM used_statements WHERE expires_at < ?'),
      registryKeys: db.prepare<[string], RegistryKeyRow>('SELECT * FROM registry_keys WHERE purpose = ? ORDER BY created_at, kid'),
      insertRegistryKey: db.prepare(
        'INSERT INTO registry_keys (kid, purpose, private_jwk, created_at, retired_at) VALUES (@kid, @purpose, @private_jwk, @created_at, NULL)',
      ),
      retireRegistryKeys: db.prepare('UPDATE registry_keys SET retired_at = ? WHERE purpose = ? AND retired_at IS NULL AND kid != ?'),
      revokeRegistryKey: db.prepare<[{ at: number; kid: string }]>('UPDATE registry_keys SET revoked_at = @at, retired_at = coalesce(retired_at, @at) WHERE kid = @kid AND revoked_at IS NULL'),
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
    this.currentLog = TransparencyLog.open(this.db, this.logOpenOptions());
  }

  private logOpenOptions(): { origin: string; signingKey: Ed25519PrivateJwk; keyName: string } {
    const [row] = this.registryKeys('log');
    let signingKey: Ed25519PrivateJwk;
    if (row === undefined) {
      signingKey = generateKeyPair().privateJwk;
      this.db.transaction(() => this.insertRegistryKey('log', signingKey))();
    } else signingKey = parseStrictJson(row.private_jwk) as Ed25519PrivateJwk;
    return { origin: this.logOrigin, signingKey, keyName: this.logOrigin };
  }

  get log(): TransparencyLog {
    return this.currentLog;
  }

  /**
   * Re-reads the log from the database: after a rolled-back transaction the log object's
   * in-memory view (size, frontier) may be ahead of what was committed.
   */
  reopenLog(): void {
    this.currentLog = TransparencyLog.open(this.db, this.logOpenOptions());
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Runs `hook` when the store closes, before its own connection (the write worker's, see WriteQueue). */
  onClose(hook: () => void): void {
    this.closeHooks.push(hook);
  }

  close(): void {
    const hooks = this.closeHooks.splice(0);
    for (const hook of hooks) hook();
    if (this.db.open) this.db.close();
  }

  // --- events: audit row + log leaf, always together (call inside a transaction) -------------

  /** Appends `event` to the transparency log and the audit trail; returns its leaf index. */
  appendEvent(event: LogEvent, subject: string): number {
    // toLeafData checks the event against its schema: a malformed event fails the transaction
    return this.appendEventLeaf(event, toLeafData(event), subject);
  }

  /**
   * appendEvent with the leaf data already computed by `toLeafData(event)` (a publish computes it
   * in its checks, so that its writes start only once nothing can refuse it: publish-job.ts).
   */
  appendEventLeaf(event: LogEvent, leaf: Uint8Array, subject: string): number {
    if (!this.db.inTransaction) throw new Error('appendEvent must run inside a transaction');
    const leafIndex = this.currentLog.append(leaf);
    this.s.insertAudit.run({
      leaf_index: leafIndex,
      at: event.at,
      actor: event.actor,
      kind: event.kind,
      subject,
      event: Buffer.from(leaf.buffer, leaf.byteOffset, leaf.byteLength).toString('utf8'), // JCS(event), as in the leaf
    });
    return leafIndex;
  }

  auditTail(n: number): { leafIndex: number; event: LogEvent }[] {
    return this.s.auditTail.all(n).map((r) => ({ leafIndex: r.leaf_index, event: JSON.parse(r.event) as LogEvent }));
  }

  /** The newest `n` audit events of these kinds, newest first. */
  auditTailOf(kinds: readonly LogEvent['kind'][], n: number): { leafIndex: number; event: LogEvent }[] {
    return this.s.auditTailOfKinds.all(JSON.stringify(kinds), n).map((r) => ({ leafIndex: r.leaf_index, event: JSON.parse(r.event) as LogEvent }));
  }

  // --- namespaces -----------------------------------------------------------------------------

  getNamespace(namespace: string): NamespaceRow | undefined {
    return this.s.getNamespace.get(namespace);
  }

  /** Registered namespaces with the same TR39 skeleton (index lookup, no scan). */
  lookalikesOf(namespace: string): string[] {
    return this.s.namespacesBySkeleton.all(confusableSkeleton(namespace)).map((r) => r.namespace);
  }

  insertNamespace(row: Omit<NamespaceRow, 'skeleton' | 'tool_count'>): void {
    this.s.insertNamespace.run({ ...row, skeleton: confusableSkeleton(row.namespace) });
  }

  /** The namespace's tools in id order, at most `limit`. */
  toolsOf(namespace: string, limit: number): ToolRow[] {
    return this.s.toolsOf.all(namespace, limit);
  }

  countToolsOf(namespace: string): number {
    return this.s.countToolsOf.get(namespace)?.n ?? 0;
  }

  // --- keys -----------------------------------------------------------------------------------

  getKey(namespace: string, keyId: string): KeyRow | undefined {
    if (this.db.inTransaction) return this.s.getKey.get(namespace, keyId);
    return this.cachedKeys(namespace).find((k) => k.key_id === keyId);
  }

  /** The namespace's keys (frozen rows), oldest first. */
  listKeys(namespace: string): readonly KeyRow[] {
    if (this.db.inTransaction) return this.s.listKeys.all(namespace);
    return this.cachedKeys(namespace);
  }

  insertKey(row: Omit<KeyRow, 'revoked_from' | 'revoked_at' | 'revoked_reason' | 'jwk'> & { jwk: Ed25519PublicJwk }): void {
    this.keyCache.clear();
    this.s.insertKey.run({ ...row, jwk: canonicalize(row.jwk) });
  }

  /** Revokes the key and marks the versions its revocation voids (signature_void); returns how many. */
  revokeKey(namespace: string, keyId: string, revokedFrom: string, revokedAt: string, reason: string): number {
    this.keyCache.clear();
    this.s.revokeKey.run({ namespace, key_id: keyId, revoked_from: revokedFrom, revoked_at: revokedAt, revoked_reason: reason });
    return markVoidSignatures(this.db, namespace, keyId, revokedFrom);
  }

  private cachedKeys(namespace: string): readonly KeyRow[] {
    let rows = this.keyCache.get(namespace);
    if (rows === undefined) {
      if (this.keyCache.size >= 4096) this.keyCache.clear();
      rows = Object.freeze(this.s.listKeys.all(namespace).map((r) => Object.freeze(r)));
      this.keyCache.set(namespace, rows);
    }
    return rows;
  }

  // --- tools and versions ---------------------------------------------------------------------

  getTool(toolId: string): ToolRow | undefined {
    return this.s.getTool.get(toolId);
  }

  insertTool(row: ToolRow): void {
    this.s.insertTool.run(row);
    this.s.countTool.run(row.namespace);
  }

  updateTool(row: Pick<ToolRow, 'tool_id' | 'latest_version' | 'title' | 'description' | 'updated_at'>): void {
    this.s.updateTool.run(row);
  }

  /** Tools after `afterToolId` in id order; `query` matches tool ids and descriptions (substring). */
  listTools(afterToolId: string, limit: number, query?: string): ToolRow[] {
    if (query === undefined || query === '') return this.s.listTools.all(afterToolId, limit);
    const pattern = `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return this.s.searchTools.all(afterToolId, pattern, pattern, limit);
  }

  getVersion(toolId: string, version: string): VersionRow | undefined {
    return this.s.getVersion.get(toolId, version);
  }

  /** Every version row of the tool, manifests included (fsck and tests; reads use the pages below). */
  listVersions(toolId: string): VersionRow[] {
    return this.s.listVersions.all(toolId);
  }

  /** The highest version neither revoked nor voided by its key's revocation (an index lookup). */
  latestLiveVersion(toolId: string): string | undefined {
    return this.s.latestLive.get(toolId)?.version;
  }

  /** Up to `limit` version summaries below leaf `beforeLeaf`, newest first (an index range). */
  versionsPage(toolId: string, beforeLeaf: number, limit: number, definitionDigest?: string): VersionSummaryRow[] {
    if (definitionDigest === undefined) return this.s.versionsPage.all(toolId, beforeLeaf, limit);
    return this.s.versionsPageByDefinition.all(toolId, definitionDigest, beforeLeaf, limit);
  }

  insertVersion(row: Omit<VersionRow, 'revoked_at' | 'revoked_reason' | 'revoked_by' | 'signature_void'>): void {
    this.s.insertVersion.run(row);
  }

  revokeVersion(toolId: string, version: string, revokedAt: string, reason: string, by: string): void {
    this.s.revokeVersion.run({ tool_id: toolId, version, revoked_at: revokedAt, revoked_reason: reason, revoked_by: by });
  }

  // --- statements -----------------------------------------------------------------------------

  /** Records a statement digest; false when it was used before (replay). */
  useStatement(digest: string, expiresAtSeconds: number, nowSeconds: number): boolean {
    this.s.purgeStatements.run(nowSeconds);
    return this.s.useStatement.run(digest, expiresAtSeconds).changes === 1;
  }

  // --- the registry's own keys ----------------------------------------------------------------

  registryKeys(purpose: 'jwt' | 'log'): RegistryKeyRow[] {
    return this.s.registryKeys.all(purpose);
  }

  insertRegistryKey(purpose: 'jwt' | 'log', jwk: Ed25519PrivateJwk, createdAtSeconds = Math.floor(Date.now() / 1000)): void {
    this.s.insertRegistryKey.run({ kid: jwk.kid, purpose, private_jwk: JSON.stringify(jwk), created_at: createdAtSeconds });
  }

  /** Marks every key of `purpose` except `keepKid` as retired at `atSeconds`. */
  retireRegistryKeys(purpose: 'jwt' | 'log', keepKid: string, atSeconds: number): void {
    this.s.retireRegistryKeys.run(atSeconds, purpose, keepKid);
  }

  /** Emergency revocation of a registry key (retired too, if it was not); false if unknown or already revoked. */
  revokeRegistryKey(kid: string, atSeconds: number): boolean {
    return this.s.revokeRegistryKey.run({ at: atSeconds, kid }).changes === 1;
  }

  counts(): StoreCounts {
    return this.s.counts.get()!;
  }
}
