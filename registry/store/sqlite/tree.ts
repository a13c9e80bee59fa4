import type Database from 'better-sqlite3';
import type { StoredCheckpoint, TreeNode, TreeWriter } from '../types.js';

/**
 * The log's tables, created on open (idempotent).
 *
 * - log_leaves: the leaf data (JCS(event) bytes), one row per leaf.
 * - log_nodes: the hash of every complete (perfect) subtree, keyed (level, index): the subtree
 *   covering leaves [index * 2^level, (index + 1) * 2^level). Level 0 holds the leaf hashes. A
 *   row is written when the subtree's last leaf arrives and never changes afterwards, so every
 *   root and proof of any tree size is assembled from O(log n) of these rows (log/merkle-plan.ts).
 * - log_checkpoints: every checkpoint ever signed (at most one per size).
 * - log_meta: the origin the database belongs to.
 */
export const LOG_SCHEMA = `
CREATE TABLE IF NOT EXISTS log_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_leaves (idx INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS log_nodes (
  level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS log_leaf_hash ON log_nodes (hash) WHERE level = 0;
CREATE TABLE IF NOT EXISTS log_checkpoints (
  size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL, created_at TEXT NOT NULL
);
`;

/** The tables the log keeps its data in. */
export const LOG_TABLES = ['log_meta', 'log_leaves', 'log_nodes', 'log_checkpoints'] as const;

export const asBytes = (b: Buffer | Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

const toCheckpoint = (row: { size: number; root: Buffer; note: string }): StoredCheckpoint => ({ size: row.size, rootHash: asBytes(row.root), note: row.note });

/**
 * The log's rows in SQLite (store/types.ts TreeWriter) on one connection: the log computes
 * (log/transparency-log.ts), this keeps. Synchronous underneath; the async surface is the
 * store interface's, which PostgreSQL needs.
 */
type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

export interface TreeStatements {
  size: Stmt<[], { n: number | null }>;
  node: Stmt<[number, number], { hash: Buffer }>;
  insertNode: Stmt<[number, number, Uint8Array]>;
  leafByHash: Stmt<[Uint8Array], { idx: number }>;
  entries: Stmt<[number, number], { idx: number; data: Buffer }>;
  latest: Stmt<[], { size: number; root: Buffer; note: string }>;
  checkpoints: Stmt<[], { size: number; root: Buffer; note: string }>;
  insertCheckpoint: Stmt<[number, Uint8Array, string, string]>;
  nodeCount: Stmt<[], { n: number }>;
  origin: Stmt<[], { value: string }>;
  setOrigin: Stmt<[string]>;
  insertLeafAtSize: Stmt<[number, Uint8Array, number]>;
}

/** The log tables' prepared statements on one connection (prepared once, shared by its views). */
export function treeStatements(db: Database.Database): TreeStatements {
  return {
    size: db.prepare<[], { n: number | null }>('SELECT MAX(idx) AS n FROM log_leaves'),
    node: db.prepare<[number, number], { hash: Buffer }>('SELECT hash FROM log_nodes WHERE level = ? AND idx = ?'),
    insertNode: db.prepare<[number, number, Uint8Array]>('INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)'),
    leafByHash: db.prepare<[Uint8Array], { idx: number }>('SELECT idx FROM log_nodes WHERE level = 0 AND hash = ? ORDER BY idx LIMIT 1'),
    entries: db.prepare<[number, number], { idx: number; data: Buffer }>('SELECT idx, data FROM log_leaves WHERE idx >= ? AND idx < ? ORDER BY idx'),
    latest: db.prepare<[], { size: number; root: Buffer; note: string }>('SELECT size, root, note FROM log_checkpoints ORDER BY size DESC LIMIT 1'),
    checkpoints: db.prepare<[], { size: number; root: Buffer; note: string }>('SELECT size, root, note FROM log_checkpoints ORDER BY size'),
    insertCheckpoint: db.prepare<[number, Uint8Array, string, string]>('INSERT INTO log_checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)'),
    nodeCount: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM log_nodes'),
    origin: db.prepare<[], { value: string }>("SELECT value FROM log_meta WHERE name = 'origin'"),
    setOrigin: db.prepare<[string]>("INSERT INTO log_meta (name, value) VALUES ('origin', ?)"),
    // the next index only: a leaf at any other index is refused (the log has no gaps)
    insertLeafAtSize: db.prepare<[number, Uint8Array, number]>('INSERT INTO log_leaves (idx, data) SELECT ?, ? WHERE ? = (SELECT COALESCE(MAX(idx) + 1, 0) FROM log_leaves)'),
  };
}

export class SqliteTree implements TreeWriter {
  constructor(private stmt: TreeStatements) {}

  /** Makes every later call fail (a transaction's view, once it ended). */
  end(dead: TreeStatements): void {
    this.stmt = dead;
  }

  async size(): Promise<number> {
    const n = this.stmt.size.get()?.n;
    return n === null || n === undefined ? 0 : n + 1;
  }

  async nodes(coordinates: readonly (readonly [number, number])[]): Promise<(Uint8Array | undefined)[]> {
    // one indexed lookup each: in-process, a batch costs what its lookups cost
    return coordinates.map(([level, idx]) => {
      const row = this.stmt.node.get(level, idx);
      return row === undefined ? undefined : asBytes(row.hash);
    });
  }

  async nodeCount(): Promise<number> {
    return this.stmt.nodeCount.get()!.n;
  }

  async leafIndexOf(leafHash: Uint8Array): Promise<number | undefined> {
    return this.stmt.leafByHash.get(leafHash)?.idx;
  }

  async entries(start: number, end: number): Promise<{ index: number; data: Uint8Array }[]> {
    return this.stmt.entries.all(start, end).map((r) => ({ index: r.idx, data: asBytes(r.data) }));
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const row = this.stmt.latest.get();
    return row === undefined ? undefined : toCheckpoint(row);
  }

  async allCheckpoints(): Promise<StoredCheckpoint[]> {
    return this.stmt.checkpoints.all().map(toCheckpoint);
  }

  async origin(): Promise<string | undefined> {
    return this.stmt.origin.get()?.value;
  }

  async insertLeaf(index: number, data: Uint8Array): Promise<void> {
    if (this.stmt.insertLeafAtSize.run(index, data, index).changes !== 1) throw new RangeError(`leaf index ${index} is not the tree size ${await this.size()}`);
  }

  async insertNodes(nodes: readonly TreeNode[]): Promise<void> {
    for (const n of nodes) this.stmt.insertNode.run(n.level, n.idx, n.hash);
  }

  async insertCheckpoint(checkpoint: StoredCheckpoint, createdAt: Date): Promise<void> {
    this.stmt.insertCheckpoint.run(checkpoint.size, checkpoint.rootHash, checkpoint.note, createdAt.toISOString());
  }

  async setOrigin(origin: string): Promise<void> {
    this.stmt.setOrigin.run(origin);
  }
}
