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
  verifyConsistency,
} from '../../protocol/index.js';
import type { Ed25519PrivateJwk, Ed25519PublicJwk, LogEvidence } from '../../schemas/index.js';
import { LogError } from './errors.js';
import { MerkleTreeStore, type StoredCheckpoint } from './tree-store.js';

export interface TransparencyLogOptions {
  /** The checkpoint origin line, e.g. `registry.example/log`. Fixed for the life of the database. */
  origin: string;
  signingKey: Ed25519PrivateJwk;
  /** The signed-note key name; C2SP tlog-checkpoint recommends the origin. */
  keyName: string;
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
      const root = this.tree.rootHash(size);
      if (last && last.size === size) {
        if (!bytesEqual(last.rootHash, root))
          throw new LogError('LOG_CORRUPT', `the stored tree of size ${size} does not match its signed checkpoint`);
        return last;
      }
      if (!sign) return undefined;
      if (last && last.size > 0) {
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
