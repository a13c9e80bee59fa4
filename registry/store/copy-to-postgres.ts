import pg from 'pg';
import { fsckRegistry } from './fsck.js';
import { PostgresStore, WRITE_LOCK_KEY } from './postgres/postgres-store.js';
import type { SqliteStore } from './sqlite/sqlite-store.js';

/**
 * The tables a registry database holds, in an order that satisfies the foreign keys, with the
 * order their rows are copied in. Same names and columns on both stores (postgres-migrations.ts
 * is the meaning of the SQLite migrations).
 */
const TABLES = [
  ['registry_keys', 'kid'],
  ['namespaces', 'namespace'],
  ['keys', 'namespace, key_id'],
  ['tools', 'tool_id'],
  ['versions', 'tool_id, version'],
  ['audit', 'leaf_index'],
  ['used_statements', 'digest'],
  ['log_leaves', 'idx'],
  ['log_nodes', 'level, idx'],
  ['log_checkpoints', 'size'],
] as const;

/** Rows per INSERT: under PostgreSQL's 65,535 parameters for the widest table (14 columns). */
const BATCH = 1_000;

export interface CopyReport {
  /** Rows copied, by table. */
  rows: Record<string, number>;
  /** The log's size and root (base64), the same on both sides (else the copy is refused). */
  size: number;
  rootHash: string;
}

export class CopyRefused extends Error {
  override readonly name = 'CopyRefused';
}

/**
 * One-way copy of a SQLite registry into an empty PostgreSQL database (`etdi migrate`): every
 * row of every table, the log's leaves, subtree hashes and signed checkpoints byte for byte, the
 * registry's keys (so the log key, and the checkpoints clients hold, stay valid). One
 * transaction holding the registry's write lock: a failure leaves the target with the empty
 * schema only, and no registry process can write meanwhile. Then fsck on the committed copy; it
 * must have the source's log size and root, or CopyRefused (the copy is then left in place for
 * analysis: drop the database before trying again). The source should be stopped (or a backup): the copy reads one
 * snapshot of it.
 */
export async function copySqliteToPostgres(source: SqliteStore, url: string): Promise<CopyReport> {
  const origin = await source.tree.origin();
  if (origin === undefined) throw new CopyRefused(`${source.path} has no transparency log origin: is it a registry database?`);
  const before = await fsckRegistry(source);
  if (!before.ok) throw new CopyRefused(`${source.path} does not pass fsck (${before.problems[0]?.code}: ${before.problems[0]?.message}); run etdi log verify --db on it first`);
  // creates the schema and records the origin (refusing a database that holds another log)
  const target = await PostgresStore.open({ url, logOrigin: origin });
  await target.close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const rows: Record<string, number> = {};
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK_KEY.toString()]);
    for (const [table] of TABLES) {
      const { rows: [count] } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      if (count!.n !== '0') throw new CopyRefused(`the target database is not empty (${table} has ${count!.n} rows): copy into a new database`);
    }
    // one read transaction on the source: every table from the same committed state
    const read = source.db.transaction(() => TABLES.map(([table, order]) => [table, source.db.prepare(`SELECT * FROM ${table} ORDER BY ${order}`).all() as Record<string, unknown>[]] as const));
    for (const [table, all] of read()) {
      rows[table] = all.length;
      for (let i = 0; i < all.length; i += BATCH) await insertRows(client, table, all.slice(i, i + BATCH));
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
  const copied = await PostgresStore.open({ url, logOrigin: origin });
  try {
    const after = await fsckRegistry(copied);
    if (!after.ok) throw new CopyRefused(`the copy does not pass fsck (${after.problems[0]?.code}: ${after.problems[0]?.message})`);
    if (after.size !== before.size || after.rootHash !== before.rootHash)
      throw new CopyRefused(`the copy's log (size ${after.size}, root ${after.rootHash}) is not the source's (size ${before.size}, root ${before.rootHash})`);
  } finally {
    await copied.close();
  }
  return { rows, size: before.size, rootHash: before.rootHash };
}

async function insertRows(client: pg.Client, table: string, rows: Record<string, unknown>[]): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const values: unknown[] = [];
  const tuples = rows.map((row) => `(${columns.map((c) => `$${values.push(row[c])}`).join(', ')})`);
  await client.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, values);
}
