import type Database from 'better-sqlite3';
import { EMPTY_ROOT, largestPowerOfTwoBelow, leafHash as hashLeaf, nodeHash } from '@etdi/protocol';
import { LogError } from './errors.js';

/**
 * The log's tables, created on open (idempotent).
 *
 * - log_leaves: the leaf data (JCS(event) bytes), one row per leaf.
 * - log_nodes: the hash of every complete (perfect) subtree, keyed (level, index): the subtree
 *   covering leaves [index * 2^level, (index + 1) * 2^level). Level 0 holds the leaf hashes. A
 *   row is written when the subtree's last leaf arrives and never changes afterwards, so every
 *   root and proof of any tree size is assembled from O(log n) of these rows.
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

/** A signed checkpoint as persisted. */
export interface StoredCheckpoint {
  size: number;
  rootHash: Uint8Array;
  note: string;
}

export const isSafeCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

export const asBytes = (b: Buffer | Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/**
 * The Merkle tree in SQLite, without keys: appends, roots and proofs. It keeps no tree state in
 * memory: the size is the largest leaf index + 1 (one B-tree lookup) and everything else is read
 * from log_nodes, so opening is O(1) (no replay) and a transaction the caller rolls back leaves
 * nothing behind, in the database or here.
 */
export class MerkleTreeStore {
  /** Subtree hashes read during shareNodes, by leaf range `start:end`. */
  private sharedNodes: Map<string, Uint8Array> | undefined;
  private readonly stmt: {
    size: Database.Statement<[], { n: number | null }>;
    node: Database.Statement<[number, number], { hash: Buffer }>;
    insertLeaf: Database.Statement<[Uint8Array], { idx: number }>;
    insertNode: Database.Statement<[number, number, Uint8Array]>;
    leafByHash: Database.Statement<[Uint8Array], { idx: number }>;
    entries: Database.Statement<[number, number], { idx: number; data: Buffer }>;
    latest: Database.Statement<[], { size: number; root: Buffer; note: string }>;
    checkpoints: Database.Statement<[], { size: number; root: Buffer; note: string }>;
    insertCheckpoint: Database.Statement<[number, Uint8Array, string, string]>;
  };

  constructor(readonly db: Database.Database) {
    db.exec(LOG_SCHEMA);
    this.stmt = {
      size: db.prepare<[], { n: number | null }>('SELECT MAX(idx) AS n FROM log_leaves'),
      node: db.prepare<[number, number], { hash: Buffer }>('SELECT hash FROM log_nodes WHERE level = ? AND idx = ?'),
      // The next index is computed by SQLite in the same statement (one B-tree lookup, no round trip).
      insertLeaf: db.prepare<[Uint8Array], { idx: number }>(
        'INSERT INTO log_leaves (idx, data) VALUES ((SELECT COALESCE(MAX(idx) + 1, 0) FROM log_leaves), ?) RETURNING idx',
      ),
      insertNode: db.prepare<[number, number, Uint8Array]>('INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)'),
      leafByHash: db.prepare<[Uint8Array], { idx: number }>(
        'SELECT idx FROM log_nodes WHERE level = 0 AND hash = ? ORDER BY idx LIMIT 1',
      ),
      entries: db.prepare<[number, number], { idx: number; data: Buffer }>(
        'SELECT idx, data FROM log_leaves WHERE idx >= ? AND idx < ? ORDER BY idx',
      ),
      latest: db.prepare<[], { size: number; root: Buffer; note: string }>(
        'SELECT size, root, note FROM log_checkpoints ORDER BY size DESC LIMIT 1',
      ),
      checkpoints: db.prepare<[], { size: number; root: Buffer; note: string }>(
        'SELECT size, root, note FROM log_checkpoints ORDER BY size',
      ),
      insertCheckpoint: db.prepare<[number, Uint8Array, string, string]>(
        'INSERT INTO log_checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)',
      ),
    };
  }

  /** The number of leaves, as the database (including the caller's open transaction) sees it. */
  get size(): number {
    const n = this.stmt.size.get()?.n;
    return n === null || n === undefined ? 0 : n + 1;
  }

  /**
   * Appends a leaf inside the caller's transaction and returns its index. Writes the leaf, its
   * hash and the hash of every perfect subtree it completes: 1 + (trailing ones of the index)
   * node rows, 2 on average, log2 n at most.
   */
  append(leafData: Uint8Array): number {
    if (!(leafData instanceof Uint8Array)) throw new TypeError('leafData must be a Uint8Array');
    // Outside a transaction each INSERT would commit alone and a crash could leave a leaf
    // without its subtree hashes, or an event without its leaf.
    if (!this.db.inTransaction) throw new TypeError('append must be called inside a database transaction');
    let hash = hashLeaf(leafData);
    const index = this.stmt.insertLeaf.get(leafData)!.idx;
    this.stmt.insertNode.run(0, index, hash);
    // An odd node index closes its parent subtree: hash it with its left sibling and go up.
    let level = 0;
    let i = index;
    while (i % 2 === 1) {
      hash = nodeHash(this.node(level, i - 1), hash);
      level++;
      i = (i - 1) / 2;
      this.stmt.insertNode.run(level, i, hash);
    }
    return index;
  }

  /** The RFC 9162 root of the tree of the given size (default: the current size). O(log n) reads. */
  rootHash(treeSize: number = this.size): Uint8Array {
    this.checkTreeSize(treeSize, 'treeSize');
    return this.subtreeHash(0, treeSize);
  }

  /** RFC 9162 inclusion proof (PATH) of leaf `leafIndex` in the tree of size `treeSize`. O(log n) reads. */
  inclusionProof(leafIndex: number, treeSize: number): Uint8Array[] {
    this.checkTreeSize(treeSize, 'treeSize');
    if (!isSafeCount(leafIndex) || leafIndex >= treeSize)
      throw new LogError('LOG_BAD_REQUEST', `leaf index must be an integer in [0, ${treeSize})`);
    const out: Uint8Array[] = [];
    this.path(leafIndex, 0, treeSize, out);
    return out;
  }

  /** RFC 9162 consistency proof between the trees of sizes 0 < size1 <= size2. O(log n) reads. */
  consistencyProof(size1: number, size2: number): Uint8Array[] {
    this.checkTreeSize(size2, 'size2');
    if (!isSafeCount(size1) || size1 < 1 || size1 > size2)
      throw new LogError('LOG_BAD_REQUEST', `size1 must be an integer in [1, ${size2}]`);
    const out: Uint8Array[] = [];
    this.subproof(size1, 0, size2, true, out);
    return out;
  }

  /** The index of the first leaf with this leaf hash, or undefined. */
  leafIndexOf(leafHash: Uint8Array): number | undefined {
    return this.stmt.leafByHash.get(leafHash)?.idx;
  }

  /** Leaves [start, end) with their data. The caller bounds the page size. */
  entries(start: number, end: number): { index: number; data: Uint8Array }[] {
    if (!isSafeCount(start) || !isSafeCount(end) || start > end)
      throw new LogError('LOG_BAD_REQUEST', 'entries: want integers 0 <= start <= end');
    return this.stmt.entries.all(start, end).map((r) => ({ index: r.idx, data: asBytes(r.data) }));
  }

  /** The stored hash of the perfect subtree (level, index), or undefined. */
  storedNode(level: number, index: number): Uint8Array | undefined {
    const row = this.stmt.node.get(level, index);
    return row === undefined ? undefined : asBytes(row.hash);
  }

  latestCheckpoint(): StoredCheckpoint | undefined {
    const row = this.stmt.latest.get();
    return row === undefined ? undefined : { size: row.size, rootHash: asBytes(row.root), note: row.note };
  }

  /** Every signed checkpoint, by size. */
  allCheckpoints(): StoredCheckpoint[] {
    return this.stmt.checkpoints.all().map((row) => ({ size: row.size, rootHash: asBytes(row.root), note: row.note }));
  }

  insertCheckpoint(checkpoint: StoredCheckpoint, createdAt: Date): void {
    this.stmt.insertCheckpoint.run(checkpoint.size, checkpoint.rootHash, checkpoint.note, createdAt.toISOString());
  }

  /**
   * The hashes of the perfect subtrees the tree of `treeSize` leaves splits into (one per set bit
   * of the size, largest first): its right border, from which the root folds and to which leaves
   * append. At most log2 n row reads; the caller knows `treeSize` is within the tree.
   */
  border(treeSize: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let pos = 0;
    for (let level = 52; level >= 0; level--) {
      const width = 2 ** level;
      if (treeSize - pos < width) continue;
      out.push(this.node(level, pos / width));
      pos += width;
    }
    return out;
  }

  private checkTreeSize(treeSize: number, name: string): void {
    if (!isSafeCount(treeSize)) throw new LogError('LOG_BAD_REQUEST', `${name} must be a non-negative integer`);
    const size = this.size;
    if (treeSize > size) throw new LogError('LOG_BAD_REQUEST', `${name} ${treeSize} is beyond the tree size ${size}`);
  }

  private node(level: number, index: number): Uint8Array {
    const hash = this.storedNode(level, index);
    if (hash === undefined) throw new LogError('LOG_CORRUPT', `missing subtree hash (${level}, ${index})`);
    return hash;
  }

  /**
   * MTH(D[start:end]). In every call made here `start` is a multiple of the largest power of two
   * <= end - start, so the range splits into perfect subtrees of decreasing size, one per set bit
   * of its length: at most log2 n row reads, folded right to left as RFC 9162 defines MTH.
   */
  private subtreeHash(start: number, end: number): Uint8Array {
    const length = end - start;
    if (length === 0) return EMPTY_ROOT;
    const memo = this.sharedNodes;
    if (memo === undefined) return this.readSubtreeHash(start, end, length);
    const key = `${start}:${end}`;
    let hash = memo.get(key);
    if (hash === undefined) memo.set(key, (hash = this.readSubtreeHash(start, end, length)));
    return hash;
  }

  /**
   * Runs `fn` with the subtree hashes it reads remembered until it returns: the proofs of many
   * leaves of one tree (a bundle set: up to 256) share their upper nodes, and a leaf range's hash
   * never changes once its leaves exist (the log only appends), so each is read once.
   */
  shareNodes<T>(fn: () => T): T {
    if (this.sharedNodes !== undefined) return fn();
    this.sharedNodes = new Map();
    try {
      return fn();
    } finally {
      this.sharedNodes = undefined;
    }
  }

  private readSubtreeHash(start: number, end: number, length: number): Uint8Array {
    const parts: Uint8Array[] = [];
    let level = 0;
    while (2 ** (level + 1) <= length) level++;
    let pos = start;
    for (; level >= 0; level--) {
      const width = 2 ** level;
      if (width > end - pos) continue;
      if (pos % width !== 0) throw new LogError('LOG_CORRUPT', `internal: range [${start}, ${end}) is not aligned`);
      parts.push(this.node(level, pos / width));
      pos += width;
    }
    let hash = parts.pop()!;
    while (parts.length > 0) hash = nodeHash(parts.pop()!, hash);
    return hash;
  }

  /** RFC 9162 section 2.1.3.1 PATH(m, D[start:start+n]), bottom-up. */
  private path(m: number, start: number, n: number, out: Uint8Array[]): void {
    if (n === 1) return;
    const k = largestPowerOfTwoBelow(n);
    if (m < k) {
      this.path(m, start, k, out);
      out.push(this.subtreeHash(start + k, start + n));
    } else {
      this.path(m - k, start + k, n - k, out);
      out.push(this.subtreeHash(start, start + k));
    }
  }

  /** RFC 9162 section 2.1.4.1 SUBPROOF(m, D[start:start+n], b). */
  private subproof(m: number, start: number, n: number, b: boolean, out: Uint8Array[]): void {
    if (m === n) {
      if (!b) out.push(this.subtreeHash(start, start + m));
      return;
    }
    const k = largestPowerOfTwoBelow(n);
    if (m <= k) {
      this.subproof(m, start, k, b, out);
      out.push(this.subtreeHash(start + k, start + n));
    } else {
      this.subproof(m - k, start + k, n - k, false, out);
      out.push(this.subtreeHash(start, start + k));
    }
  }
}
