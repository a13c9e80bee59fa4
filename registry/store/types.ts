/**
 * The registry's store interface: what the services, the log, fsck and the CLI may ask of a
 * store. Two implementations hold it to the same contract (test/store/contract.test.ts):
 * - store/sqlite/ (better-sqlite3, the embedded default: one file, one registry process);
 * - store/postgres/ (node-postgres: one database, any number of registry processes).
 *
 * Every method is async (PostgreSQL answers over a socket). Reads on a `Store` see committed
 * state only. Writes happen only inside `Store.transaction`, whose callback gets a `StoreTx`: the
 * same reads, seeing the transaction's own writes, plus the writes. Transactions of one store are
 * serialised, across processes too (PostgreSQL: a transaction-scoped advisory lock), so the log
 * has one order: a transaction reads the tree size, appends its leaves and signs its checkpoint
 * while no other transaction of any process can append.
 */
import type { LogEvent } from '@etdi/schemas';

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
  /** JCS of the public JWK. */
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

export interface AuditRow {
  leaf_index: number;
  at: string;
  actor: string;
  kind: LogEvent['kind'];
  subject: string;
  /** JCS(event), the leaf's bytes as text. */
  event: string;
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

/** A signed checkpoint as persisted. */
export interface StoredCheckpoint {
  size: number;
  rootHash: Uint8Array;
  note: string;
}

/** A stored Merkle node: the hash of the perfect subtree covering leaves [idx * 2^level, (idx + 1) * 2^level). */
export interface TreeNode {
  level: number;
  idx: number;
  hash: Uint8Array;
}

/**
 * The log's rows (RFC 9162 tree, see log/transparency-log.ts for the hashing): leaves, the
 * hash of every complete subtree (written when its last leaf arrives, never changed), and every
 * signed checkpoint. No Merkle logic here: the log computes, the store keeps.
 */
export interface TreeReader {
  /** The number of leaves (the largest leaf index + 1). */
  size(): Promise<number>;
  /** The stored hashes at these coordinates, in order (undefined where none is stored): one round trip. */
  nodes(coordinates: readonly (readonly [level: number, idx: number])[]): Promise<(Uint8Array | undefined)[]>;
  /** How many subtree hashes are stored (fsck: a tree of n leaves has 2n - popcount(n)). */
  nodeCount(): Promise<number>;
  /** The index of the first leaf whose leaf hash (level-0 node) is `leafHash`. */
  leafIndexOf(leafHash: Uint8Array): Promise<number | undefined>;
  /** Leaves [start, end) with their data, by index. */
  entries(start: number, end: number): Promise<{ index: number; data: Uint8Array }[]>;
  latestCheckpoint(): Promise<StoredCheckpoint | undefined>;
  allCheckpoints(): Promise<StoredCheckpoint[]>;
  /** The log origin this database belongs to (log_meta), if recorded. */
  origin(): Promise<string | undefined>;
}

export interface TreeWriter extends TreeReader {
  /** Stores leaf `index` (which must be the current size) with its data. */
  insertLeaf(index: number, data: Uint8Array): Promise<void>;
  insertNodes(nodes: readonly TreeNode[]): Promise<void>;
  insertCheckpoint(checkpoint: StoredCheckpoint, createdAt: Date): Promise<void>;
  setOrigin(origin: string): Promise<void>;
}

/** Reads: committed state on a Store, the transaction's own view on a StoreTx. */
export interface StoreReader {
  readonly tree: TreeReader;

  getNamespace(namespace: string): Promise<NamespaceRow | undefined>;
  /** Registered namespaces with this TR39 skeleton (index lookup, no scan). */
  namespacesWithSkeleton(skeleton: string): Promise<string[]>;
  /** The namespace's tools in id order, at most `limit`. */
  toolsOf(namespace: string, limit: number): Promise<ToolRow[]>;
  countToolsOf(namespace: string): Promise<number>;

  getKey(namespace: string, keyId: string): Promise<KeyRow | undefined>;
  /** The namespace's keys, oldest first. */
  listKeys(namespace: string): Promise<KeyRow[]>;

  getTool(toolId: string): Promise<ToolRow | undefined>;
  /** Tools after `afterToolId` in id order; `query` matches tool ids and descriptions (substring). */
  listTools(afterToolId: string, limit: number, query?: string): Promise<ToolRow[]>;
  getVersion(toolId: string, version: string): Promise<VersionRow | undefined>;
  /** Every version row of the tool, manifests included (fsck, migrate and tests). */
  listVersions(toolId: string): Promise<VersionRow[]>;
  /** The highest version neither revoked nor voided by its key's revocation (an index lookup). */
  latestLiveVersion(toolId: string): Promise<string | undefined>;
  /** Up to `limit` version summaries below leaf `beforeLeaf`, newest first (an index range). */
  versionsPage(toolId: string, beforeLeaf: number, limit: number, definitionDigest?: string): Promise<VersionSummaryRow[]>;

  /** The newest `n` audit rows (of these kinds, when given), newest first. */
  auditTail(n: number, kinds?: readonly LogEvent['kind'][]): Promise<AuditRow[]>;
  /** Audit rows with leaf index in [start, end), in order (fsck, migrate). */
  auditRange(start: number, end: number): Promise<AuditRow[]>;

  registryKeys(purpose: 'jwt' | 'log'): Promise<RegistryKeyRow[]>;
  counts(): Promise<StoreCounts>;
}

export interface StoreTx extends StoreReader {
  readonly tree: TreeWriter;

  insertNamespace(row: Omit<NamespaceRow, 'tool_count'>): Promise<void>;
  insertKey(row: Omit<KeyRow, 'revoked_from' | 'revoked_at' | 'revoked_reason'>): Promise<void>;
  /** Sets the key's revocation; the caller marks the versions it voids (markVoidSignatures). */
  revokeKey(namespace: string, keyId: string, revokedFrom: string, revokedAt: string, reason: string): Promise<void>;
  /** Versions signed by the key and not yet void, with the manifest's issuedAt (key revocation). */
  signedBy(namespace: string, keyId: string): Promise<{ tool_id: string; version: string; issued_at: string; published_at: string }[]>;
  markSignatureVoid(toolId: string, version: string): Promise<void>;

  /** Inserts the tool and counts it in its namespace. */
  insertTool(row: ToolRow): Promise<void>;
  /** Sets the latest version and summary, and counts one more version. */
  updateTool(row: Pick<ToolRow, 'tool_id' | 'latest_version' | 'title' | 'description' | 'updated_at'>): Promise<void>;
  insertVersion(row: Omit<VersionRow, 'revoked_at' | 'revoked_reason' | 'revoked_by' | 'signature_void'>): Promise<void>;
  revokeVersion(toolId: string, version: string, revokedAt: string, reason: string, by: string): Promise<void>;
  insertAudit(row: AuditRow): Promise<void>;

  /** Records a statement digest (purging expired ones); false when it was used before (replay). */
  useStatement(digest: string, expiresAtSeconds: number, nowSeconds: number): Promise<boolean>;

  insertRegistryKey(row: Omit<RegistryKeyRow, 'retired_at' | 'revoked_at'>): Promise<void>;
  /** Marks every key of `purpose` except `keepKid` as retired at `atSeconds`. */
  retireRegistryKeys(purpose: 'jwt' | 'log', keepKid: string, atSeconds: number): Promise<void>;
  /** Emergency revocation (retired too, if it was not); false if unknown or already revoked. */
  revokeRegistryKey(kid: string, atSeconds: number): Promise<boolean>;

  /**
   * Runs `fn` in a savepoint: when it throws, its writes roll back alone and the error is
   * rethrown; the transaction goes on.
   */
  savepoint<T>(fn: () => Promise<T>): Promise<T>;
}

export interface Store extends StoreReader {
  readonly kind: 'sqlite' | 'postgres';
  /** Where it is, for messages: a file path, or the database URL without its password. */
  readonly location: string;
  /**
   * Runs `fn` in one durable transaction and returns its result after COMMIT is on stable
   * storage; a throw rolls everything back and is rethrown. Serialised with every other
   * transaction on this database, from any process.
   */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** The schema version (migrations applied) and the newest this code knows. */
  schemaVersion(): Promise<{ current: number; latest: number }>;
  close(): Promise<void>;
}
