import { createPrivateKey, sign as nodeSign, type KeyObject } from 'node:crypto';
import {
  assembleNote,
  bytesEqual,
  formatCheckpoint,
  formatVerifierKey,
  generateKeyPair,
  leafHash,
  nodeHash,
  noteSignatureLine,
  parseStrictJson,
  privateKeySeed,
  publicKeyOf,
  toBase64,
  toPublicJwk,
  utf8,
  verifyConsistency,
  EMPTY_ROOT,
} from '@etdi/protocol';
import type { Ed25519PrivateJwk, Ed25519PublicJwk, LogEvidence } from '@etdi/schemas';
import type { Store, StoreReader, StoredCheckpoint, StoreTx, TreeNode, TreeReader } from '../store/types.js';
import { LogError } from './errors.js';
import { consistencyRanges, inclusionRanges, leftSiblingsOf, rangeHashes } from './merkle-plan.js';

export interface TransparencyLogOptions {
  /** The checkpoint origin line, e.g. `registry.example/log`. Fixed for the life of the database. */
  origin: string;
  /** The signed-note key name; C2SP tlog-checkpoint recommends the origin (the default). */
  keyName?: string;
}

const isSafeCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/**
 * The registry's append-only Merkle log (RFC 9162 hashing) with C2SP signed checkpoints, kept in
 * the registry's store (TreeReader/TreeWriter: leaves, the hash of every complete subtree, the
 * checkpoints). This object holds no tree state, only the signing key: the size is the store's,
 * so any number of registry processes on one PostgreSQL database serve the same log, and a
 * rolled-back transaction leaves nothing behind. Appends and checkpoint signatures happen only
 * inside a store transaction, which every store serialises (across processes too): the log has
 * one order, and each checkpoint is signed over the transaction's own tree just before COMMIT, so
 * it commits with its leaves and no checkpoint ever covers an uncommitted leaf.
 */
export class TransparencyLog {
  readonly origin: string;
  readonly keyName: string;
  private readonly privateKey: KeyObject;
  private readonly publicKey: Uint8Array;
  private readonly publicJwkValue: Ed25519PublicJwk;
  private readonly vkey: string;

  private constructor(
    private readonly store: StoreReader,
    signingKey: Ed25519PrivateJwk,
    options: TransparencyLogOptions,
  ) {
    this.origin = options.origin;
    this.keyName = options.keyName ?? options.origin;
    let seed: Uint8Array;
    try {
      seed = privateKeySeed(signingKey);
    } catch (cause) {
      throw new LogError('LOG_CONFIG', 'the log signing key is not a valid Ed25519 private JWK', { cause });
    }
    this.publicKey = publicKeyOf(seed);
    this.privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: signingKey.x, d: signingKey.d }, format: 'jwk' });
    this.publicJwkValue = toPublicJwk(signingKey);
    try {
      this.vkey = formatVerifierKey(this.keyName, this.publicKey);
      formatCheckpoint({ origin: options.origin, size: 0, rootHash: EMPTY_ROOT }); // validates the origin line
    } catch (cause) {
      throw new LogError('LOG_CONFIG', 'invalid log origin or key name', { cause });
    }
  }

  /**
   * The log kept in `store`. On the first open it creates the log signing key, records the origin
   * and signs the empty checkpoint, in one transaction (several processes starting at once on one
   * database create one key: the transaction re-reads under the store's lock). Refuses a store
   * whose log has another origin (LOG_CONFIG).
   */
  static async open(store: Store, options: TransparencyLogOptions): Promise<TransparencyLog> {
    let key = (await store.registryKeys('log'))[0];
    let origin = await store.tree.origin();
    if (key === undefined || origin === undefined || (await store.tree.latestCheckpoint()) === undefined) {
      await store.transaction(async (tx) => {
        if ((await tx.registryKeys('log')).length === 0) {
          const jwk = generateKeyPair().privateJwk;
          await tx.insertRegistryKey({ kid: jwk.kid!, purpose: 'log', private_jwk: JSON.stringify(jwk), created_at: Math.floor(Date.now() / 1000) });
        }
        if ((await tx.tree.origin()) === undefined) await tx.tree.setOrigin(options.origin);
      });
      key = (await store.registryKeys('log'))[0]!;
      origin = await store.tree.origin();
    }
    if (origin !== options.origin) throw new LogError('LOG_CONFIG', `this database holds the log "${origin}", not "${options.origin}"`);
    const log = new TransparencyLog(store, parseStrictJson(key.private_jwk) as Ed25519PrivateJwk, options);
    if ((await store.tree.latestCheckpoint()) === undefined) await store.transaction((tx) => log.signCheckpoint(tx));
    return log;
  }

  /** The number of leaves (committed, or as the transaction `reader` sees them). */
  size(reader: StoreReader = this.store): Promise<number> {
    return reader.tree.size();
  }

  /**
   * Appends a leaf inside the caller's transaction and returns its index: the state change and
   * its leaf commit (or roll back) together. Writes the leaf and the hash of every perfect subtree
   * it completes (1 + trailing ones of the index: 2 on average). Neither commits nor signs.
   */
  async append(tx: StoreTx, leafData: Uint8Array): Promise<number> {
    if (!(leafData instanceof Uint8Array)) throw new TypeError('leafData must be a Uint8Array');
    const index = await tx.tree.size();
    const siblings = leftSiblingsOf(index);
    const left = siblings.length === 0 ? [] : await tx.tree.nodes(siblings);
    let hash = leafHash(leafData);
    const nodes: TreeNode[] = [{ level: 0, idx: index, hash }];
    siblings.forEach(([level, idx], i) => {
      const sibling = left[i];
      if (sibling === undefined) throw new LogError('LOG_CORRUPT', `missing subtree hash (${level}, ${idx})`);
      hash = nodeHash(sibling, hash);
      nodes.push({ level: level + 1, idx: idx / 2, hash });
    });
    await tx.tree.insertLeaf(index, leafData);
    await tx.tree.insertNodes(nodes);
    return index;
  }

  /** The RFC 9162 root of the tree of the given size (default: the current size). */
  async rootHash(treeSize?: number, reader: StoreReader = this.store): Promise<Uint8Array> {
    const size = treeSize ?? (await reader.tree.size());
    await this.checkTreeSize(reader.tree, size, 'treeSize');
    return (await rangeHashes(reader.tree, [[0, size]]))[0]!;
  }

  /** RFC 9162 inclusion proof of leaf `leafIndex` in the tree of size `treeSize`: one read. */
  async inclusionProof(leafIndex: number, treeSize: number): Promise<Uint8Array[]> {
    return (await this.inclusionProofs([leafIndex], treeSize))[0]!;
  }

  /** Inclusion proofs of many leaves in one tree (a bundle set: up to 256), their nodes read at once. */
  async inclusionProofs(leafIndexes: readonly number[], treeSize: number): Promise<Uint8Array[][]> {
    await this.checkTreeSize(this.store.tree, treeSize, 'treeSize');
    for (const leafIndex of leafIndexes)
      if (!isSafeCount(leafIndex) || leafIndex >= treeSize) throw new LogError('LOG_BAD_REQUEST', `leaf index must be an integer in [0, ${treeSize})`);
    const plans = leafIndexes.map((i) => inclusionRanges(i, treeSize));
    const hashes = await rangeHashes(this.store.tree, plans.flat());
    let at = 0;
    return plans.map((p) => hashes.slice(at, (at += p.length)));
  }

  /** RFC 9162 consistency proof between sizes 0 < size1 <= size2: one read. */
  async consistencyProof(size1: number, size2: number, reader: StoreReader = this.store): Promise<Uint8Array[]> {
    await this.checkTreeSize(reader.tree, size2, 'size2');
    if (!isSafeCount(size1) || size1 < 1 || size1 > size2) throw new LogError('LOG_BAD_REQUEST', `size1 must be an integer in [1, ${size2}]`);
    return rangeHashes(reader.tree, consistencyRanges(size1, size2));
  }

  /** The index of the first leaf with this RFC 9162 leaf hash, or undefined. */
  leafIndexOf(hash: Uint8Array): Promise<number | undefined> {
    return this.store.tree.leafIndexOf(hash);
  }

  /** Leaves [start, end) with their data. The caller bounds the page size. */
  entries(start: number, end: number): Promise<{ index: number; data: Uint8Array }[]> {
    if (!isSafeCount(start) || !isSafeCount(end) || start > end) throw new LogError('LOG_BAD_REQUEST', 'entries: want integers 0 <= start <= end');
    return this.store.tree.entries(start, end);
  }

  /** The newest signed checkpoint note. */
  async checkpoint(): Promise<string> {
    return (await this.latestCheckpoint()).note;
  }

  /**
   * The newest signed checkpoint (committed). Every write transaction signs before it commits,
   * so it covers every committed leaf.
   */
  async latestCheckpoint(): Promise<StoredCheckpoint> {
    const last = await this.store.tree.latestCheckpoint();
    if (last === undefined) throw new LogError('LOG_CORRUPT', 'the log has no signed checkpoint (was it opened with TransparencyLog.open?)');
    return last;
  }

  /**
   * Signs a checkpoint of the transaction's tree when it grew, last thing before COMMIT. Before
   * signing it checks, with a consistency proof from the stored nodes, that the tree extends the
   * last signed checkpoint (C2SP tlog-checkpoint: a log MUST NOT sign two inconsistent
   * checkpoints): a corrupted or rolled-back database makes it throw LOG_CORRUPT, which aborts
   * the transaction, instead of signing a fork.
   */
  async signCheckpoint(tx: StoreTx): Promise<StoredCheckpoint> {
    const size = await tx.tree.size();
    const last = await tx.tree.latestCheckpoint();
    if (last && last.size > size)
      throw new LogError('LOG_CORRUPT', `the log has ${size} leaves but signed a checkpoint of size ${last.size}: the database was rolled back`);
    const root = (await rangeHashes(tx.tree, [[0, size]]))[0]!;
    if (last && last.size === size) {
      if (!bytesEqual(last.rootHash, root)) throw new LogError('LOG_CORRUPT', `the stored tree of size ${size} does not match its signed checkpoint`);
      return last;
    }
    if (last && last.size > 0) {
      try {
        verifyConsistency(last.size, size, await rangeHashes(tx.tree, consistencyRanges(last.size, size)), last.rootHash, root);
      } catch (cause) {
        throw new LogError('LOG_CORRUPT', `the tree of size ${size} does not extend the signed checkpoint of size ${last.size}`, { cause });
      }
    }
    const text = formatCheckpoint({ origin: this.origin, size, rootHash: root });
    const signature = new Uint8Array(nodeSign(null, utf8(text), this.privateKey));
    const note = assembleNote(text, [noteSignatureLine(this.keyName, this.publicKey, signature)]);
    const checkpoint = { size, rootHash: root, note };
    await tx.tree.insertCheckpoint(checkpoint, new Date());
    return checkpoint;
  }

  /** What the registry serves with a record: its leaf index and inclusion proof against the newest checkpoint. */
  async evidence(leafIndex: number): Promise<LogEvidence> {
    const cp = await this.latestCheckpoint();
    // every committed leaf is under the checkpoint its transaction signed: anything else is corruption
    if (cp.size <= leafIndex) throw new LogError('LOG_CORRUPT', `the newest checkpoint (size ${cp.size}) does not cover leaf ${leafIndex}`);
    // the checkpoint bounds the tree: no size read before the proof's one read
    const hashes = (await rangeHashes(this.store.tree, inclusionRanges(leafIndex, cp.size))).map(toBase64);
    return { leafIndex, inclusionProof: { leafIndex, treeSize: cp.size, hashes }, checkpoint: cp.note };
  }

  /** The C2SP note verifier key clients pin: `<name>+<hex key id>+<base64(0x01 || key)>`. */
  verifierKey(): string {
    return this.vkey;
  }

  publicJwk(): Ed25519PublicJwk {
    return { ...this.publicJwkValue };
  }

  private async checkTreeSize(tree: TreeReader, treeSize: number, name: string): Promise<void> {
    if (!isSafeCount(treeSize)) throw new LogError('LOG_BAD_REQUEST', `${name} must be a non-negative integer`);
    const size = await tree.size();
    if (treeSize > size) throw new LogError('LOG_BAD_REQUEST', `${name} ${treeSize} is beyond the tree size ${size}`);
  }
}
