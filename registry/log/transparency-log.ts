import { createPrivateKey, sign as nodeSign, type KeyObject } from 'node:crypto';
import type Database from 'better-sqlite3';
import {
  EMPTY_ROOT,
  assembleNote,
  bytesEqual,
  formatCheckpoint,
  formatVerifierKey,
  noteSignatureLine,
  privateKeySeed,
  publicKeyOf,
  toBase64,
  toPublicJwk,
  utf8,
  nodeHash,
  verifyConsistency,
} from '@etdi/protocol';
import type { Ed25519PrivateJwk, Ed25519PublicJwk, LogEvidence } from '@etdi/schemas';
import { LogError } from './errors.js';
import { MerkleTreeStore, type StoredCheckpoint } from './tree-store.js';

export interface TransparencyLogOptions {
  /** The checkpoint origin line, e.g. `registry.example/log`. Fixed for the life of the database. */
  origin: string;
  signingKey: Ed25519PrivateJwk;
  /** The signed-note key name; C2SP tlog-checkpoint recommends the origin. */
  keyName: string;
}

/** MTH from a border (largest subtree first): folded right to left, as RFC 9162 defines MTH. */
function foldBorder(border: Uint8Array[]): Uint8Array {
  if (border.length === 0) return EMPTY_ROOT;
  let hash = border[border.length - 1]!;
  for (let i = border.length - 2; i >= 0; i--) hash = nodeHash(border[i]!, hash);
  return hash;
}

/**
 * The registry's append-only Merkle log (RFC 9162 hashing) with C2SP signed checkpoints, stored
 * in the registry's own SQLite database (tables log_*, see tree-store.ts).
 */
export class TransparencyLog {
  readonly origin: string;
  readonly keyName: string;
  private readonly tree: MerkleTreeStore;
  private readonly db: Database.Database;
  private readonly privateKey: KeyObject;
  private readonly publicKey: Uint8Array;
  private readonly publicJwkValue: Ed25519PublicJwk;
  private readonly vkey: string;
  private appendCount = 0;
  /** The last checkpoint this object signed or found current, with its border (extendsHead). */
  private head: { size: number; rootHash: Uint8Array; border: Uint8Array[] } | undefined;

  private constructor(db: Database.Database, tree: MerkleTreeStore, options: TransparencyLogOptions) {
    this.db = db;
    this.tree = tree;
    this.origin = options.origin;
    this.keyName = options.keyName;
    let seed: Uint8Array;
    try {
      seed = privateKeySeed(options.signingKey);
    } catch (cause) {
      throw new LogError('LOG_CONFIG', 'the log signing key is not a valid Ed25519 private JWK', { cause });
    }
    this.publicKey = publicKeyOf(seed);
    // checkpoint() is synchronous by contract, so it signs with node:crypto directly (the same
    // implementation as protocol's node backend) rather than through the async backend API.
    this.privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: options.signingKey.x, d: options.signingKey.d }, format: 'jwk' });
    this.publicJwkValue = toPublicJwk(options.signingKey);
    try {
      this.vkey = formatVerifierKey(options.keyName, this.publicKey);
      formatCheckpoint({ origin: options.origin, size: 0, rootHash: EMPTY_ROOT }); // validates the origin line
    } catch (cause) {
      throw new LogError('LOG_CONFIG', 'invalid log origin or key name', { cause });
    }
  }

  /**
   * Opens (creating its tables if needed) the log stored in the registry's database. O(1): no
   * replay. Refuses a database whose log has another origin (LOG_CONFIG).
   */
  static open(db: Database.Database, options: TransparencyLogOptions): TransparencyLog {
    const tree = new MerkleTreeStore(db);
    const row = db.prepare('SELECT value FROM log_meta WHERE name = ?').get('origin') as { value: string } | undefined;
    const log = new TransparencyLog(db, tree, options);
    if (row === undefined) db.prepare('INSERT INTO log_meta (name, value) VALUES (?, ?)').run('origin', options.origin);
    else if (row.value !== options.origin)
      throw new LogError('LOG_CONFIG', `this database holds the log "${row.value}", not "${options.origin}"`);
    return log;
  }

  /** The number of leaves, as the database (including the caller's open transaction) sees it. */
  get size(): number {
    return this.tree.size;
  }

  /**
   * Appends a leaf and returns its index. MUST be called inside the caller's db.transaction so
   * that the state change and its leaf commit (or roll back) together: no event without its
   * leaf, no leaf without its event (TypeError otherwise). O(log n) row writes, 2 on average.
   * Neither commits nor signs.
   */
  append(leafData: Uint8Array): number {
    const index = this.tree.append(leafData);
    this.appendCount++;
    return index;
  }

  /**
   * How many leaves this object has appended (rolled back or not): a counter, not tree state. The
   * write batch compares it around a job to tell whether a refused job had already appended.
   */
  get appends(): number {
    return this.appendCount;
  }

  /** The RFC 9162 root of the tree of the given size (default: the current size). O(log n) reads. */
  rootHash(treeSize?: number): Uint8Array {
    return this.tree.rootHash(treeSize);
  }

  /** RFC 9162 inclusion proof of leaf `leafIndex` in the tree of size `treeSize`. O(log n) reads. */
  inclusionProof(leafIndex: number, treeSize: number): Uint8Array[] {
    return this.tree.inclusionProof(leafIndex, treeSize);
  }

  /** Runs `fn`, in which many proofs of one tree are made, reading each subtree hash once (MerkleTreeStore.shareNodes). */
  shareNodes<T>(fn: () => T): T {
    return this.tree.shareNodes(fn);
  }

  /** RFC 9162 consistency proof between sizes 0 < size1 <= size2. O(log n) reads. */
  consistencyProof(size1: number, size2: number): Uint8Array[] {
    return this.tree.consistencyProof(size1, size2);
  }

  /** The index of the first leaf with this RFC 9162 leaf hash, or undefined. */
  leafIndexOf(leafHash: Uint8Array): number | undefined {
    return this.tree.leafIndexOf(leafHash);
  }

  /**
   * The newest signed checkpoint note. Signs (and persists) a new one when the tree grew. Call it
   * after the append transaction committed, never inside it.
   */
  checkpoint(): string {
    return this.latestCheckpoint().note;
  }

  /**
   * The newest signed checkpoint with its size and root, signing one first when the tree grew.
   * Before signing it checks, with its own consistency proof, that the tree extends the last
   * signed checkpoint (C2SP tlog-checkpoint: a log MUST NOT sign two inconsistent checkpoints):
   * a corrupted or rolled-back database makes it throw LOG_CORRUPT instead of signing a fork.
   */
  latestCheckpoint(): StoredCheckpoint {
    const run = (sign: boolean): StoredCheckpoint | undefined => {
      const size = this.tree.size;
      const last = this.tree.latestCheckpoint();
      if (last && last.size > size)
        throw new LogError('LOG_CORRUPT', `the log has ${size} leaves but signed a checkpoint of size ${last.size}: the database was rolled back`);
      const border = this.tree.border(size);
      const root = foldBorder(border);
      if (last && last.size === size) {
        if (!bytesEqual(last.rootHash, root))
          throw new LogError('LOG_CORRUPT', `the stored tree of size ${size} does not match its signed checkpoint`);
        this.head = { size, rootHash: root, border };
        return last;
      }
      if (!sign) return undefined;
      if (last && last.size > 0 && !this.extendsHead(last, size, border)) {
        try {
          verifyConsistency(last.size, size, this.tree.consistencyProof(last.size, size), last.rootHash, root);
        } catch (cause) {
          throw new LogError('LOG_CORRUPT', `the tree of size ${size} does not extend the signed checkpoint of size ${last.size}`, { cause });
        }
      }
      const text = formatCheckpoint({ origin: this.origin, size, rootHash: root });
      const signature = new Uint8Array(nodeSign(null, utf8(text), this.privateKey));
      const note = assembleNote(text, [noteSignatureLine(this.keyName, this.publicKey, signature)]);
      const checkpoint = { size, rootHash: root, note };
      this.tree.insertCheckpoint(checkpoint, new Date());
      this.head = { size, rootHash: root, border };
      return checkpoint;
    };
    if (this.db.inTransaction) return run(true)!;
    // A read first (the registry signs inside every write batch, so the newest checkpoint is
    // almost always current): no write lock on the read path, which would otherwise wait for
    // the write worker's batch. Only a tree that grew without a checkpoint takes it.
    // IMMEDIATE: two processes (or connections) must not both sign a checkpoint for the same growth.
    return this.db.transaction(() => run(false))() ?? this.db.transaction(() => run(true)!).immediate();
  }

  /**
   * The consistency check of latestCheckpoint without a proof, when this object knows the border
   * of the last signed checkpoint (it verified or signed that checkpoint itself): the stored
   * border of `last.size` must still be that one, and it, with the stored hashes of the leaves
   * since appended, merged as a Merkle frontier, must be exactly the stored border of `size`. Then the new root folds from subtrees
   * built on the old tree's subtrees, so the tree extends the signed one (what the proof shows),
   * reading the new leaves' hashes (a batch: a few) instead of O(log^2 n) rows for the proof.
   * False (the caller verifies a proof) when the known head is not the stored last checkpoint
   * (another connection signed since, or a rolled-back transaction signed it) or too far behind.
   */
  private extendsHead(last: StoredCheckpoint, size: number, border: Uint8Array[]): boolean {
    const head = this.head;
    if (head === undefined || head.size !== last.size || !bytesEqual(head.rootHash, last.rootHash) || size - head.size > 256) return false;
    // the stored border of the signed size is still the one that folded to its root
    const stored = this.tree.border(head.size);
    if (stored.length !== head.border.length || stored.some((h, i) => !bytesEqual(h, head.border[i]!)))
      throw new LogError('LOG_CORRUPT', `the stored tree of size ${head.size} no longer matches its signed checkpoint`);
    // the frontier as (width, hash), largest first, extended leaf by leaf
    const frontier: { width: number; hash: Uint8Array }[] = [];
    let rest = head.size;
    for (const hash of head.border) {
      let width = 1;
      while (width * 2 <= rest) width *= 2;
      frontier.push({ width, hash });
      rest -= width;
    }
    for (let index = head.size; index < size; index++) {
      const leaf = this.tree.storedNode(0, index);
      if (leaf === undefined) throw new LogError('LOG_CORRUPT', `missing leaf hash ${index}`);
      let node = { width: 1, hash: leaf };
      while (frontier.length > 0 && frontier[frontier.length - 1]!.width === node.width) {
        const left = frontier.pop()!;
        node = { width: node.width * 2, hash: nodeHash(left.hash, node.hash) };
      }
      frontier.push(node);
    }
    if (frontier.length !== border.length || frontier.some((f, i) => !bytesEqual(f.hash, border[i]!)))
      throw new LogError('LOG_CORRUPT', `the tree of size ${size} does not extend the signed checkpoint of size ${last.size}`);
    return true;
  }

  /**
   * What the registry serves with a record: its leaf index and inclusion proof against the
   * newest checkpoint (signed now if the tree grew). Call after the append committed.
   */
  evidence(leafIndex: number): LogEvidence {
    const cp = this.latestCheckpoint();
    const hashes = this.tree.inclusionProof(leafIndex, cp.size).map(toBase64);
    return { leafIndex, inclusionProof: { leafIndex, treeSize: cp.size, hashes }, checkpoint: cp.note };
  }

  /** Leaves [start, end) with their data. The caller bounds the page size. */
  entries(start: number, end: number): { index: number; data: Uint8Array }[] {
    return this.tree.entries(start, end);
  }

  /** The C2SP note verifier key clients pin: `<name>+<hex key id>+<base64(0x01 || key)>`. */
  verifierKey(): string {
    return this.vkey;
  }

  publicJwk(): Ed25519PublicJwk {
    return { ...this.publicJwkValue };
  }
}
