import type pg from 'pg';
import { LogError } from '../../log/errors.js';
import type { AuditRow, KeyRow, NamespaceRow, RegistryKeyRow, Store, StoreTx, ToolRow, TreeWriter, VersionRow } from '../types.js';
import { BoundedPool, storeBusy, type PoolOptions } from './pool.js';
import { applyMigrations, POSTGRES_MIGRATIONS } from './postgres-migrations.js';
import { PostgresReader } from './postgres-reads.js';
import { PostgresTreeWriter } from './postgres-tree.js';
import { named, toQueryConfig, type Query } from './query.js';

/**
 * The key of the transaction-scoped advisory lock every write transaction of every registry
 * process takes first (pg_advisory_xact_lock): the bytes of the ASCII text "etdi-log" read as a
 * signed 64-bit integer (0x657464692d6c6f67). Holding it is what lets a transaction read the tree
 * size, append its leaves and sign its checkpoint with no other transaction of any process
 * appending meanwhile: the log has one order without a sequencer process to elect or take over.
 * PostgreSQL releases it at COMMIT or ROLLBACK, and when a process dies its connection drops and
 * its transaction rolls back, which releases it too.
 */
export const WRITE_LOCK_KEY = 0x657464692d6c6f67n;

/** How long a transaction waits for the write lock before STORE_BUSY (default). */
const LOCK_TIMEOUT_MS = 10_000;

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database (any libpq-style URL node-postgres accepts). */
  url: string;
  /**
   * The log's C2SP origin line: recorded in a new database, and a database holding another log's
   * origin is refused (LOG_CONFIG). Without it (`etdi log verify`) the origin is neither set nor checked.
   */
  logOrigin?: string;
  pool?: PoolOptions & {
    /** How long a transaction waits for the write lock held by another transaction, in ms (default 10000); then STORE_BUSY. */
    lockTimeoutMs?: number;
  };
}

/**
 * The registry's PostgreSQL store: one database, any number of registry processes.
 *
 * - Durability: every connection sets synchronous_commit = on, so `transaction` resolves only
 *   once the server has flushed the COMMIT to its WAL.
 * - One log order: each transaction takes the advisory lock WRITE_LOCK_KEY first, so write
 *   transactions are serialised across every process on the database.
 * - Reads on the store use any pooled connection and see committed state; reads on the
 *   transaction's StoreTx use its connection and see its own writes.
 * - Bounded: at most `pool.max` connections per process, a bounded wait for one, a bounded wait
 *   for the lock; past them STORE_BUSY (503, Retry-After).
 *
 * Never await `store.transaction` inside a transaction's callback: it waits for the lock its
 * caller holds (STORE_BUSY after lockTimeoutMs). Use the StoreTx, and tx.savepoint to recover
 * from a failed statement: in PostgreSQL a failed statement aborts the whole transaction.
 */
export class PostgresStore extends PostgresReader implements Store {
  readonly kind = 'postgres';
  readonly location: string;
  private readonly pool: BoundedPool;
  private readonly lockTimeoutMs: number;
  private closed = false;

  /**
   * Connects, applies the migrations this database lacks (under the write lock, so processes
   * starting at once do not race), then records the log origin or checks it is `logOrigin`.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    if (typeof options.url !== 'string' || options.url === '') throw new TypeError('url must be a PostgreSQL URL');
    if (options.logOrigin !== undefined && (typeof options.logOrigin !== 'string' || options.logOrigin === '')) throw new TypeError('logOrigin must be a non-empty string');
    const lockTimeoutMs = options.pool?.lockTimeoutMs ?? LOCK_TIMEOUT_MS;
    if (!Number.isSafeInteger(lockTimeoutMs) || lockTimeoutMs < 1) throw new RangeError('pool.lockTimeoutMs must be a positive integer');
    const pool = new BoundedPool(options.url, options.pool);
    const store = new PostgresStore(pool, redactPassword(options.url), lockTimeoutMs);
    try {
      await store.checkDurability();
      await store.withTransaction(async (client, tx) => {
        await applyMigrations(client);
        if (options.logOrigin === undefined) return;
        const origin = await tx.tree.origin();
        if (origin === undefined) await tx.tree.setOrigin(options.logOrigin);
        else if (origin !== options.logOrigin)
          throw new LogError('LOG_CONFIG', `the database ${store.location} holds the log "${origin}", not "${options.logOrigin}"`);
      });
    } catch (error) {
      await pool.end();
      throw error;
    }
    return store;
  }

  private constructor(pool: BoundedPool, location: string, lockTimeoutMs: number) {
    super((statement, values) => pool.query(statement, values));
    this.pool = pool;
    this.location = location;
    this.lockTimeoutMs = lockTimeoutMs;
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.withTransaction((_client, tx) => fn(tx));
  }

  async schemaVersion(): Promise<{ current: number; latest: number }> {
    const [row] = await this.query<{ v: number }>(named('store.schemaVersion', 'SELECT coalesce(max(version), 0) AS v FROM schema_migrations'));
    return { current: row?.v ?? 0, latest: POSTGRES_MIGRATIONS.length };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /**
   * BEGIN and the write lock in one round trip, `fn`, COMMIT. A throw anywhere rolls back, gives
   * the connection back (closed if the ROLLBACK itself failed) and is rethrown.
   */
  private async withTransaction<T>(fn: (client: pg.PoolClient, tx: PostgresTx) => Promise<T>): Promise<T> {
    const client = await this.pool.acquire();
    const tx = new PostgresTx(client);
    try {
      await this.begin(client);
      const result = await fn(client, tx);
      await client.query('COMMIT');
      tx.end();
      this.pool.release(client);
      return result;
    } catch (error) {
      tx.end();
      try {
        await client.query('ROLLBACK');
        this.pool.release(client);
      } catch (rollbackError) {
        // the connection is in an unknown state: close it; the server rolls back when it goes
        this.pool.release(client, rollbackError as Error);
      }
      throw error;
    }
  }

  private async begin(client: pg.PoolClient): Promise<void> {
    try {
      // SET LOCAL: the lock timeout lasts for this transaction only
      await client.query(`BEGIN; SET LOCAL lock_timeout = ${this.lockTimeoutMs}; SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
    } catch (error) {
      if ((error as { code?: string }).code === '55P03')
        throw storeBusy(`another transaction held the write lock for more than ${this.lockTimeoutMs} ms`, error);
      throw error;
    }
  }

  /** Refuses a server where an acknowledged COMMIT might not be on stable storage. */
  private async checkDurability(): Promise<void> {
    const [row] = await this.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
    if (row?.synchronous_commit === 'off')
      throw new Error(`synchronous_commit is off on ${this.location}: an acknowledged publish could be lost; allow the registry to set it (options=-c synchronous_commit=on)`);
  }
}

/** A transaction's view and writes, on its one connection. Unusable once the transaction ended. */
class PostgresTx extends PostgresReader implements StoreTx {
  declare readonly tree: TreeWriter;
  private readonly state: { ended: boolean };
  private savepoints = 0;

  constructor(client: pg.PoolClient) {
    const state = { ended: false };
    const query: Query = async (statement, values) => {
      // a StoreTx kept past its transaction would run on a connection another caller now owns
      if (state.ended) throw new TypeError('this transaction has ended: its StoreTx cannot be used any more');
      return (await client.query(toQueryConfig(statement, values))).rows;
    };
    super(query, new PostgresTreeWriter(query));
    this.state = state;
  }

  end(): void {
    this.state.ended = true;
  }

  async insertNamespace(row: Omit<NamespaceRow, 'tool_count'>): Promise<void> {
    await this.query(
      named('tx.insertNamespace', 'INSERT INTO namespaces (namespace, skeleton, verification, registered_at, registered_by, leaf_index) VALUES ($1, $2, $3, $4, $5, $6)'),
      [row.namespace, row.skeleton, row.verification, row.registered_at, row.registered_by, row.leaf_index],
    );
  }

  async insertKey(row: Omit<KeyRow, 'revoked_from' | 'revoked_at' | 'revoked_reason'>): Promise<void> {
    await this.query(named('tx.insertKey', 'INSERT INTO keys (namespace, key_id, jwk, added_at, added_by, leaf_index) VALUES ($1, $2, $3, $4, $5, $6)'), [
      row.namespace,
      row.key_id,
      row.jwk,
      row.added_at,
      row.added_by,
      row.leaf_index,
    ]);
  }

  async revokeKey(namespace: string, keyId: string, revokedFrom: string, revokedAt: string, reason: string): Promise<void> {
    await this.query(named('tx.revokeKey', 'UPDATE keys SET revoked_from = $3, revoked_at = $4, revoked_reason = $5 WHERE namespace = $1 AND key_id = $2'), [
      namespace,
      keyId,
      revokedFrom,
      revokedAt,
      reason,
    ]);
  }

  /** The manifest's issuedAt is read from the stored signed manifest (json, not jsonb: no re-parsing of numbers). */
  async signedBy(namespace: string, keyId: string): Promise<{ tool_id: string; version: string; issued_at: string; published_at: string }[]> {
    return this.query(
      named('tx.signedBy', `SELECT tool_id, version, signed_manifest::json -> 'manifest' ->> 'issuedAt' AS issued_at, published_at
       FROM versions WHERE namespace = $1 AND signer_key_id = $2 AND signature_void = 0 ORDER BY leaf_index`),
      [namespace, keyId],
    );
  }

  async markSignatureVoid(toolId: string, version: string): Promise<void> {
    await this.query(named('tx.markSignatureVoid', 'UPDATE versions SET signature_void = 1 WHERE tool_id = $1 AND version = $2'), [toolId, version]);
  }

  async insertTool(row: ToolRow): Promise<void> {
    await this.query(
      named('tx.insertTool', `INSERT INTO tools (tool_id, namespace, name, latest_version, version_count, title, description, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`),
      [row.tool_id, row.namespace, row.name, row.latest_version, row.version_count, row.title, row.description, row.created_at, row.updated_at],
    );
    await this.query(named('tx.insertTool.2', 'UPDATE namespaces SET tool_count = tool_count + 1 WHERE namespace = $1'), [row.namespace]);
  }

  async updateTool(row: Pick<ToolRow, 'tool_id' | 'latest_version' | 'title' | 'description' | 'updated_at'>): Promise<void> {
    await this.query(
      named('tx.updateTool', 'UPDATE tools SET latest_version = $2, version_count = version_count + 1, title = $3, description = $4, updated_at = $5 WHERE tool_id = $1'),
      [row.tool_id, row.latest_version, row.title, row.description, row.updated_at],
    );
  }

  async insertVersion(row: Omit<VersionRow, 'revoked_at' | 'revoked_reason' | 'revoked_by' | 'signature_void'>): Promise<void> {
    await this.query(
      named('tx.insertVersion', `INSERT INTO versions (tool_id, version, namespace, signed_manifest, manifest_digest, definition_digest, signer_key_id, published_at, published_by, leaf_index)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`),
      [
        row.tool_id,
        row.version,
        row.namespace,
        row.signed_manifest,
        row.manifest_digest,
        row.definition_digest,
        row.signer_key_id,
        row.published_at,
        row.published_by,
        row.leaf_index,
      ],
    );
  }

  async revokeVersion(toolId: string, version: string, revokedAt: string, reason: string, by: string): Promise<void> {
    await this.query(named('tx.revokeVersion', 'UPDATE versions SET revoked_at = $3, revoked_reason = $4, revoked_by = $5 WHERE tool_id = $1 AND version = $2'), [
      toolId,
      version,
      revokedAt,
      reason,
      by,
    ]);
  }

  async insertAudit(row: AuditRow): Promise<void> {
    await this.query(named('tx.insertAudit', 'INSERT INTO audit (leaf_index, at, actor, kind, subject, event) VALUES ($1, $2, $3, $4, $5, $6)'), [
      row.leaf_index,
      row.at,
      row.actor,
      row.kind,
      row.subject,
      row.event,
    ]);
  }

  /**
   * Purge first (an expired digest may be used again, as in the SQLite store), then insert unless
   * present: two statements, since a data-modifying CTE's INSERT would not see its own DELETE.
   */
  async useStatement(digest: string, expiresAtSeconds: number, nowSeconds: number): Promise<boolean> {
    await this.query(named('tx.useStatement', 'DELETE FROM used_statements WHERE expires_at < $1'), [nowSeconds]);
    const rows = await this.query(named('tx.useStatement.2', 'INSERT INTO used_statements (digest, expires_at) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING RETURNING 1'), [
      digest,
      expiresAtSeconds,
    ]);
    return rows.length === 1;
  }

  async insertRegistryKey(row: Omit<RegistryKeyRow, 'retired_at' | 'revoked_at'>): Promise<void> {
    await this.query(named('tx.insertRegistryKey', 'INSERT INTO registry_keys (kid, purpose, private_jwk, created_at) VALUES ($1, $2, $3, $4)'), [
      row.kid,
      row.purpose,
      row.private_jwk,
      row.created_at,
    ]);
  }

  async retireRegistryKeys(purpose: 'jwt' | 'log', keepKid: string, atSeconds: number): Promise<void> {
    await this.query(named('tx.retireRegistryKeys', 'UPDATE registry_keys SET retired_at = $1 WHERE purpose = $2 AND retired_at IS NULL AND kid <> $3'), [atSeconds, purpose, keepKid]);
  }

  async revokeRegistryKey(kid: string, atSeconds: number): Promise<boolean> {
    const rows = await this.query(
      named('tx.revokeRegistryKey', 'UPDATE registry_keys SET revoked_at = $2, retired_at = coalesce(retired_at, $2) WHERE kid = $1 AND revoked_at IS NULL RETURNING 1'),
      [kid, atSeconds],
    );
    return rows.length === 1;
  }

  /**
   * SAVEPOINT / RELEASE, or ROLLBACK TO on a throw. In PostgreSQL a failed statement aborts the
   * whole transaction unless it ran in a savepoint: a write that may fail and be recovered from
   * (a constraint the caller expects to trip) must run inside one.
   */
  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    const name = `etdi_sp_${++this.savepoints}`;
    await this.query(`SAVEPOINT ${name}`);
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      await this.query(`ROLLBACK TO SAVEPOINT ${name}`);
      await this.query(`RELEASE SAVEPOINT ${name}`);
      throw error;
    }
    await this.query(`RELEASE SAVEPOINT ${name}`);
    return result;
  }
}

/** The URL without its password, for messages and `location`. */
/** The URL without its password (messages, `location`). */
export function redactPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '';
    parsed.searchParams.delete('password');
    return parsed.toString();
  } catch {
    return 'postgresql (unparsable URL)';
  }
}
