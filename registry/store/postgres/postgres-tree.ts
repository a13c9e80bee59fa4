import type { StoredCheckpoint, TreeNode, TreeReader, TreeWriter } from '../types.js';
import { asBytes, named, type Query } from './query.js';

/**
 * The log's rows in PostgreSQL (see store/sqlite/tree.ts for what each table holds). No Merkle
 * logic here: the log computes, the store keeps. Reads go through `query`: the pool (committed
 * state) or the transaction's connection (its own view).
 */
export class PostgresTreeReader implements TreeReader {
  constructor(protected readonly query: Query) {}

  async size(): Promise<number> {
    // max(idx) is the last entry of the primary key index: one lookup at any size
    const [row] = await this.query<{ n: number | null }>(named('tree.size', 'SELECT max(idx) AS n FROM log_leaves'));
    return row?.n === null || row?.n === undefined ? 0 : row.n + 1;
  }

  /**
   * One round trip for any number of coordinates: a proof at a million leaves needs about 40
   * nodes, and 40 sequential round trips would cost more than the whole proof budget (1 ms).
   * WITH ORDINALITY keeps the caller's order; the LEFT JOIN yields NULL where nothing is stored.
   */
  async nodes(coordinates: readonly (readonly [level: number, idx: number])[]): Promise<(Uint8Array | undefined)[]> {
    if (coordinates.length === 0) return [];
    const levels = coordinates.map(([level]) => level);
    const indexes = coordinates.map(([, idx]) => idx);
    const rows = await this.query<{ hash: Buffer | null }>(
      named('tree.nodes', `SELECT n.hash FROM unnest($1::integer[], $2::bigint[]) WITH ORDINALITY AS c(level, idx, ord)
       LEFT JOIN log_nodes n ON n.level = c.level AND n.idx = c.idx
       ORDER BY c.ord`),
      [levels, indexes],
    );
    return rows.map((r) => (r.hash === null ? undefined : asBytes(r.hash)));
  }

  async nodeCount(): Promise<number> {
    const [row] = await this.query<{ n: number }>(named('tree.nodeCount', 'SELECT count(*)::bigint AS n FROM log_nodes'));
    return row!.n;
  }

  async leafIndexOf(leafHash: Uint8Array): Promise<number | undefined> {
    const [row] = await this.query<{ idx: number }>(named('tree.leafIndexOf', 'SELECT idx FROM log_nodes WHERE level = 0 AND hash = $1 ORDER BY idx LIMIT 1'), [leafHash]);
    return row?.idx;
  }

  async entries(start: number, end: number): Promise<{ index: number; data: Uint8Array }[]> {
    const rows = await this.query<{ idx: number; data: Buffer }>(named('tree.entries', 'SELECT idx, data FROM log_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx'), [start, end]);
    return rows.map((r) => ({ index: r.idx, data: asBytes(r.data) }));
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const [row] = await this.query<CheckpointRow>(named('tree.latestCheckpoint', 'SELECT size, root, note FROM log_checkpoints ORDER BY size DESC LIMIT 1'));
    return row === undefined ? undefined : toCheckpoint(row);
  }

  async allCheckpoints(): Promise<StoredCheckpoint[]> {
    return (await this.query<CheckpointRow>(named('tree.allCheckpoints', 'SELECT size, root, note FROM log_checkpoints ORDER BY size'))).map(toCheckpoint);
  }

  async origin(): Promise<string | undefined> {
    const [row] = await this.query<{ value: string }>("SELECT value FROM log_meta WHERE name = 'origin'");
    return row?.value;
  }
}

export class PostgresTreeWriter extends PostgresTreeReader implements TreeWriter {
  /**
   * The row is written only if `index` is the current size, in the same statement: a caller that
   * computed its index from a stale size gets an error instead of a gap (or, with the primary
   * key, instead of a second leaf at one index).
   */
  async insertLeaf(index: number, data: Uint8Array): Promise<void> {
    if (!Number.isSafeInteger(index) || index < 0) throw new RangeError('index must be a non-negative integer');
    if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
    const rows = await this.query<{ idx: number }>(
      named('tree.insertLeaf', 'INSERT INTO log_leaves (idx, data) SELECT $1::bigint, $2 WHERE $1::bigint = (SELECT coalesce(max(idx) + 1, 0) FROM log_leaves) RETURNING idx'),
      [index, data],
    );
    if (rows.length !== 1) throw new RangeError(`leaf index ${index} is not the tree size ${await this.size()}`);
  }

  /** All of them in one statement (an append writes 1 + trailing ones of its index, log2 n at most). */
  async insertNodes(nodes: readonly TreeNode[]): Promise<void> {
    if (nodes.length === 0) return;
    await this.query(
      named('tree.insertNodes', 'INSERT INTO log_nodes (level, idx, hash) SELECT * FROM unnest($1::integer[], $2::bigint[], $3::bytea[])'),
      [nodes.map((n) => n.level), nodes.map((n) => n.idx), nodes.map((n) => n.hash)],
    );
  }

  async insertCheckpoint(checkpoint: StoredCheckpoint, createdAt: Date): Promise<void> {
    await this.query(named('tree.insertCheckpoint', 'INSERT INTO log_checkpoints (size, root, note, created_at) VALUES ($1, $2, $3, $4)'), [
      checkpoint.size,
      checkpoint.rootHash,
      checkpoint.note,
      createdAt.toISOString(),
    ]);
  }

  /** Records the origin; a database that has one already refuses a second (primary key). */
  async setOrigin(origin: string): Promise<void> {
    await this.query("INSERT INTO log_meta (name, value) VALUES ('origin', $1)", [origin]);
  }
}

interface CheckpointRow {
  size: number;
  root: Buffer;
  note: string;
}

const toCheckpoint = (row: CheckpointRow): StoredCheckpoint => ({ size: row.size, rootHash: asBytes(row.root), note: row.note });
