// The Store contract (registry/store/types.ts): one suite, run against every store. A store
// passes it or it is not a store: rows come back with the exact types, transactions are atomic
// and serialised, savepoints roll back alone, committed reads never see open transactions.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogEvent } from '@etdi/schemas';
import { PostgresStore } from '../../registry/store/postgres/index.js';
import { SqliteStore } from '../../registry/store/sqlite/sqlite-store.js';
import type { AuditRow, KeyRow, NamespaceRow, RegistryKeyRow, Store, StoreTx, ToolRow, VersionRow } from '../../registry/store/types.js';
import { LogError } from '../../registry/log/errors.js';
import { freshDatabase } from '../support/postgres.js';
import { dumpStore } from '../support/store-dump.js';
import { expectSerialised, gate } from '../support/store-serialisation.js';

const ORIGIN = 'registry.example/etdi-log';

interface StoreHandle {
  store: Store;
  /** Opens the same data again (a restart, or a second process where the store allows it). */
  reopen(logOrigin: string): Promise<Store>;
  cleanup(): Promise<void>;
}

interface StoreFactory {
  name: string;
  /** A fresh, empty store for one test. */
  create(logOrigin: string): Promise<StoreHandle>;
}

const postgres: StoreFactory = {
  name: 'postgres',
  async create(logOrigin) {
    const db = await freshDatabase();
    const opened: Store[] = [];
    const open = async (origin: string): Promise<Store> => {
      const store = await PostgresStore.open({ url: db.url, logOrigin: origin });
      opened.push(store);
      return store;
    };
    return {
      store: await open(logOrigin),
      reopen: open,
      async cleanup() {
        await Promise.all(opened.map((s) => s.close()));
        await db.drop();
      },
    };
  },
};

const sqlite: StoreFactory = {
  name: 'sqlite',
  async create(logOrigin) {
    const dir = mkdtempSync(join(tmpdir(), 'etdi-contract-'));
    const opened: Store[] = [];
    const open = async (origin: string): Promise<Store> => {
      const store = SqliteStore.open({ path: join(dir, 'registry.db'), logOrigin: origin });
      opened.push(store);
      return store;
    };
    return {
      store: await open(logOrigin),
      reopen: open,
      async cleanup() {
        await Promise.all(opened.map((s) => s.close()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const FACTORIES: StoreFactory[] = [sqlite, postgres];

// --- rows ---------------------------------------------------------------------------------------

const namespaceRow = (namespace: string, leaf_index = 0): Omit<NamespaceRow, 'tool_count'> => ({
  namespace,
  skeleton: `skel:${namespace}`,
  verification: 'well-known',
  registered_at: '2026-01-02T03:04:05.000Z',
  registered_by: 'publisher@example.com',
  leaf_index,
});

const keyRow = (namespace: string, key_id: string, added_at = '2026-01-02T03:04:05.000Z'): Omit<KeyRow, 'revoked_from' | 'revoked_at' | 'revoked_reason'> => ({
  namespace,
  key_id,
  jwk: `{"crv":"Ed25519","kid":"${key_id}","kty":"OKP","x":"AAAA"}`,
  added_at,
  added_by: 'publisher@example.com',
  leaf_index: 1,
});

const toolRow = (tool_id: string, description: string | null = null): ToolRow => ({
  tool_id,
  namespace: tool_id.split('/')[0]!,
  name: tool_id.split('/')[1]!,
  latest_version: '1.0.0',
  version_count: 1,
  title: null,
  description,
  created_at: '2026-01-02T03:04:05.000Z',
  updated_at: '2026-01-02T03:04:05.000Z',
});

const versionRow = (tool_id: string, version: string, leaf_index: number, definition_digest = 'sha256:def-a'): Omit<VersionRow, 'revoked_at' | 'revoked_reason' | 'revoked_by' | 'signature_void'> => ({
  tool_id,
  version,
  namespace: tool_id.split('/')[0]!,
  signed_manifest: JSON.stringify({ manifest: { issuedAt: `2026-01-0${(leaf_index % 9) + 1}T00:00:00Z`, version }, signature: 'x' }),
  manifest_digest: `sha256:manifest-${version}`,
  definition_digest,
  signer_key_id: 'k1',
  published_at: '2026-01-02T03:04:05.000Z',
  published_by: 'publisher@example.com',
  leaf_index,
});

const auditRow = (leaf_index: number, kind: LogEvent['kind']): AuditRow => ({
  leaf_index,
  at: '2026-01-02T03:04:05.000Z',
  actor: 'publisher@example.com',
  kind,
  subject: `subject-${leaf_index}`,
  event: `{"kind":"${kind}","n":${leaf_index}}`,
});

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);
const hash = (n: number): Uint8Array => new Uint8Array(32).fill(n);

/** A tool `acme/tool` with its namespace: the usual start of a test. */
async function seedTool(tx: StoreTx, toolId = 'acme/tool'): Promise<void> {
  const ns = toolId.split('/')[0]!;
  if ((await tx.getNamespace(ns)) === undefined) await tx.insertNamespace(namespaceRow(ns));
  await tx.insertTool(toolRow(toolId));
}

describe.each(FACTORIES)('Store contract: $name', (factory) => {
  let handle: StoreHandle;
  let store: Store;

  beforeEach(async () => {
    handle = await factory.create(ORIGIN);
    store = handle.store;
  });
  afterEach(async () => {
    await handle.cleanup();
  });

  describe('opening', () => {
    it('records the log origin and is at the newest schema version', async () => {
      expect(await store.tree.origin()).toBe(ORIGIN);
      const version = await store.schemaVersion();
      expect(version.current).toBe(version.latest);
      expect(version.latest).toBeGreaterThan(0);
    });

    it('opens the same data again without changing it (migrations are idempotent)', async () => {
      await store.transaction(async (tx) => seedTool(tx));
      const before = await dumpStore(store, ['acme']);
      const again = await handle.reopen(ORIGIN);
      expect(await again.schemaVersion()).toEqual(await store.schemaVersion());
      expect(await dumpStore(again, ['acme'])).toStrictEqual(before);
    });

    it('refuses data that belongs to another log origin (LOG_CONFIG)', async () => {
      const refused = handle.reopen('other.example/log');
      await expect(refused).rejects.toBeInstanceOf(LogError);
      await expect(refused).rejects.toMatchObject({ code: 'LOG_CONFIG', message: expect.stringContaining(ORIGIN) });
    });
  });

  describe('round trips: every row comes back with its exact types', () => {
    it('namespaces, keys and their look-ups', async () => {
      await store.transaction(async (tx) => {
        await tx.insertNamespace(namespaceRow('acme', 7));
        await tx.insertNamespace({ ...namespaceRow('acrne', 8), skeleton: 'skel:acme', verification: 'admin-grant' });
        await tx.insertKey(keyRow('acme', 'k2', '2026-01-03T00:00:00.000Z'));
        await tx.insertKey(keyRow('acme', 'k1', '2026-01-03T00:00:00.000Z'));
        await tx.insertKey(keyRow('acme', 'k0', '2026-01-04T00:00:00.000Z'));
      });
      expect(await store.getNamespace('acme')).toStrictEqual({ ...namespaceRow('acme', 7), tool_count: 0 });
      expect(await store.getNamespace('nobody')).toBeUndefined();
      expect((await store.namespacesWithSkeleton('skel:acme')).sort()).toStrictEqual(['acme', 'acrne']);
      expect(await store.namespacesWithSkeleton('skel:none')).toStrictEqual([]);
      expect(await store.getKey('acme', 'k1')).toStrictEqual({ ...keyRow('acme', 'k1', '2026-01-03T00:00:00.000Z'), revoked_from: null, revoked_at: null, revoked_reason: null });
      expect(await store.getKey('acme', 'nope')).toBeUndefined();
      // oldest first, then by key id
      expect((await store.listKeys('acme')).map((k) => k.key_id)).toStrictEqual(['k1', 'k2', 'k0']);

      await store.transaction((tx) => tx.revokeKey('acme', 'k1', '2026-01-01T00:00:00.000Z', '2026-01-05T00:00:00.000Z', 'lost'));
      expect(await store.getKey('acme', 'k1')).toMatchObject({ revoked_from: '2026-01-01T00:00:00.000Z', revoked_at: '2026-01-05T00:00:00.000Z', revoked_reason: 'lost' });
    });

    it('tools: insert counts the tool in its namespace, update counts a version', async () => {
      await store.transaction(async (tx) => {
        await tx.insertNamespace(namespaceRow('acme'));
        await tx.insertTool(toolRow('acme/b', 'B tool'));
        await tx.insertTool(toolRow('acme/a'));
        await tx.updateTool({ tool_id: 'acme/a', latest_version: '1.1.0', title: 'A', description: 'a tool', updated_at: '2026-02-01T00:00:00.000Z' });
      });
      expect(await store.getTool('acme/a')).toStrictEqual({
        ...toolRow('acme/a'),
        latest_version: '1.1.0',
        version_count: 2,
        title: 'A',
        description: 'a tool',
        updated_at: '2026-02-01T00:00:00.000Z',
      });
      expect(await store.getTool('acme/b')).toStrictEqual(toolRow('acme/b', 'B tool'));
      expect(await store.getTool('acme/none')).toBeUndefined();
      expect(await store.countToolsOf('acme')).toBe(2);
      expect(await store.countToolsOf('nobody')).toBe(0);
      expect((await store.getNamespace('acme'))?.tool_count).toBe(2);
      expect((await store.toolsOf('acme', 10)).map((t) => t.tool_id)).toStrictEqual(['acme/a', 'acme/b']);
      expect((await store.toolsOf('acme', 1)).map((t) => t.tool_id)).toStrictEqual(['acme/a']);
    });

    it('versions, with leaf indexes beyond 32 bits as numbers', async () => {
      const big = 2 ** 40 + 3;
      await store.transaction(async (tx) => {
        await seedTool(tx);
        await tx.insertVersion(versionRow('acme/tool', '1.0.0', big));
      });
      const row = await store.getVersion('acme/tool', '1.0.0');
      expect(row).toStrictEqual({ ...versionRow('acme/tool', '1.0.0', big), revoked_at: null, revoked_reason: null, revoked_by: null, signature_void: 0 });
      expect(await store.getVersion('acme/tool', '9.9.9')).toBeUndefined();
      expect(await store.listVersions('acme/tool')).toStrictEqual([row]);

      await store.transaction(async (tx) => {
        await tx.revokeVersion('acme/tool', '1.0.0', '2026-03-01T00:00:00.000Z', 'broken', 'admin');
        await tx.markSignatureVoid('acme/tool', '1.0.0');
      });
      expect(await store.getVersion('acme/tool', '1.0.0')).toMatchObject({ revoked_at: '2026-03-01T00:00:00.000Z', revoked_reason: 'broken', revoked_by: 'admin', signature_void: 1 });
    });

    it('signedBy lists the key\'s versions not yet void, with the manifest\'s issuedAt', async () => {
      await store.transaction(async (tx) => {
        await seedTool(tx);
        await tx.insertVersion(versionRow('acme/tool', '1.0.0', 1));
        await tx.insertVersion(versionRow('acme/tool', '1.1.0', 2));
        await tx.insertVersion({ ...versionRow('acme/tool', '1.2.0', 3), signer_key_id: 'k2' });
        await tx.markSignatureVoid('acme/tool', '1.1.0');
        expect(await tx.signedBy('acme', 'k1')).toStrictEqual([
          { tool_id: 'acme/tool', version: '1.0.0', issued_at: '2026-01-02T00:00:00Z', published_at: '2026-01-02T03:04:05.000Z' },
        ]);
        expect(await tx.signedBy('acme', 'nokey')).toStrictEqual([]);
      });
    });

    it('audit rows, the tail (of some kinds) and ranges', async () => {
      const kinds: LogEvent['kind'][] = ['namespace.registered', 'key.added', 'version.published', 'version.published', 'version.revoked'];
      await store.transaction(async (tx) => {
        for (const [i, kind] of kinds.entries()) await tx.insertAudit(auditRow(i, kind));
      });
      expect(await store.auditTail(2)).toStrictEqual([auditRow(4, 'version.revoked'), auditRow(3, 'version.published')]);
      expect(await store.auditTail(10, ['version.published', 'key.added'])).toStrictEqual([
        auditRow(3, 'version.published'),
        auditRow(2, 'version.published'),
        auditRow(1, 'key.added'),
      ]);
      expect(await store.auditTail(1, ['version.published'])).toStrictEqual([auditRow(3, 'version.published')]);
      expect(await store.auditTail(10, ['key.revoked'])).toStrictEqual([]);
      expect(await store.auditRange(1, 3)).toStrictEqual([auditRow(1, 'key.added'), auditRow(2, 'version.published')]);
      expect(await store.auditRange(5, 9)).toStrictEqual([]);
    });

    it('registry keys: retire all but one, revoke once', async () => {
      const jwt = (kid: string, created_at: number): Omit<RegistryKeyRow, 'retired_at' | 'revoked_at'> => ({ kid, purpose: 'jwt', private_jwk: `{"kid":"${kid}"}`, created_at });
      await store.transaction(async (tx) => {
        await tx.insertRegistryKey(jwt('j2', 1_700_000_002));
        await tx.insertRegistryKey(jwt('j1', 1_700_000_001));
        await tx.insertRegistryKey({ ...jwt('l1', 1_700_000_000), purpose: 'log' });
        await tx.retireRegistryKeys('jwt', 'j2', 1_800_000_000);
      });
      expect(await store.registryKeys('jwt')).toStrictEqual([
        { ...jwt('j1', 1_700_000_001), retired_at: 1_800_000_000, revoked_at: null },
        { ...jwt('j2', 1_700_000_002), retired_at: null, revoked_at: null },
      ]);
      expect(await store.registryKeys('log')).toStrictEqual([{ ...jwt('l1', 1_700_000_000), purpose: 'log', retired_at: null, revoked_at: null }]);

      const results = await store.transaction(async (tx) => [
        await tx.revokeRegistryKey('unknown', 1_900_000_000),
        await tx.revokeRegistryKey('j2', 1_900_000_000),
        await tx.revokeRegistryKey('j2', 1_900_000_001),
        await tx.revokeRegistryKey('j1', 1_900_000_000),
      ]);
      expect(results).toStrictEqual([false, true, false, true]);
      expect(await store.registryKeys('jwt')).toStrictEqual([
        // an already retired key keeps its retirement time
        { ...jwt('j1', 1_700_000_001), retired_at: 1_800_000_000, revoked_at: 1_900_000_000 },
        { ...jwt('j2', 1_700_000_002), retired_at: 1_900_000_000, revoked_at: 1_900_000_000 },
      ]);
    });

    it('counts every table in one answer', async () => {
      await store.transaction(async (tx) => {
        await seedTool(tx, 'acme/a');
        await seedTool(tx, 'acme/b');
        await tx.insertKey(keyRow('acme', 'k1'));
        await tx.insertKey(keyRow('acme', 'k2'));
        await tx.revokeKey('acme', 'k2', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 'lost');
        await tx.insertVersion(versionRow('acme/a', '1.0.0', 1));
        await tx.insertVersion(versionRow('acme/a', '1.1.0', 2));
        await tx.insertVersion(versionRow('acme/b', '1.0.0', 3));
        await tx.revokeVersion('acme/a', '1.0.0', '2026-01-01T00:00:00.000Z', 'x', 'admin');
        await tx.insertAudit(auditRow(0, 'namespace.registered'));
        await tx.useStatement('d1', 2_000_000_000, 1_000_000_000);
      });
      expect(await store.counts()).toStrictEqual({
        namespaces: 1,
        keys: 2,
        revokedKeys: 1,
        tools: 2,
        versions: 3,
        revokedVersions: 1,
        audit: 1,
        usedStatements: 1,
      });
    });
  });

  describe('versions of one tool', () => {
    beforeEach(async () => {
      await store.transaction(async (tx) => {
        await seedTool(tx);
        await seedTool(tx, 'acme/other');
        await tx.insertVersion(versionRow('acme/tool', '1.0.0', 10, 'sha256:def-a'));
        await tx.insertVersion(versionRow('acme/tool', '1.1.0', 11, 'sha256:def-b'));
        await tx.insertVersion(versionRow('acme/tool', '1.2.0', 12, 'sha256:def-a'));
        await tx.insertVersion(versionRow('acme/tool', '2.0.0', 13, 'sha256:def-b'));
        await tx.insertVersion(versionRow('acme/other', '9.0.0', 14));
      });
    });

    it('a second insert of the same (tool, version) fails: versions are immutable', async () => {
      const before = await dumpStore(store, ['acme']);
      await expect(store.transaction((tx) => tx.insertVersion({ ...versionRow('acme/tool', '1.0.0', 20), signed_manifest: '{"other":true}' }))).rejects.toThrow(/unique/i);
      expect(await dumpStore(store, ['acme'])).toStrictEqual(before);
    });

    it('latestLiveVersion skips revoked and signature-void versions', async () => {
      expect(await store.latestLiveVersion('acme/tool')).toBe('2.0.0');
      await store.transaction((tx) => tx.revokeVersion('acme/tool', '2.0.0', '2026-03-01T00:00:00.000Z', 'bad', 'admin'));
      expect(await store.latestLiveVersion('acme/tool')).toBe('1.2.0');
      await store.transaction((tx) => tx.markSignatureVoid('acme/tool', '1.2.0'));
      expect(await store.latestLiveVersion('acme/tool')).toBe('1.1.0');
      expect(await store.latestLiveVersion('acme/none')).toBeUndefined();
    });

    it('versionsPage pages newest first below a leaf, optionally of one definition', async () => {
      await store.transaction((tx) => tx.revokeVersion('acme/tool', '1.1.0', '2026-03-01T00:00:00.000Z', 'bad', 'admin'));
      const summary = (version: string, leaf_index: number, revoked_at: string | null = null) => ({
        version,
        published_at: '2026-01-02T03:04:05.000Z',
        manifest_digest: `sha256:manifest-${version}`,
        leaf_index,
        revoked_at,
        signature_void: 0,
      });
      expect(await store.versionsPage('acme/tool', Number.MAX_SAFE_INTEGER, 2)).toStrictEqual([summary('2.0.0', 13), summary('1.2.0', 12)]);
      // revoked versions stay in the list (marked), unlike latestLiveVersion
      expect(await store.versionsPage('acme/tool', 12, 5)).toStrictEqual([summary('1.1.0', 11, '2026-03-01T00:00:00.000Z'), summary('1.0.0', 10)]);
      expect(await store.versionsPage('acme/tool', Number.MAX_SAFE_INTEGER, 5, 'sha256:def-a')).toStrictEqual([summary('1.2.0', 12), summary('1.0.0', 10)]);
      expect(await store.versionsPage('acme/tool', 12, 5, 'sha256:def-b')).toStrictEqual([summary('1.1.0', 11, '2026-03-01T00:00:00.000Z')]);
      expect(await store.versionsPage('acme/tool', 10, 5)).toStrictEqual([]);
    });
  });

  describe('listTools', () => {
    beforeEach(async () => {
      await store.transaction(async (tx) => {
        await tx.insertNamespace(namespaceRow('acme'));
        for (const [id, description] of [
          ['acme/a_b', null],
          ['acme/axb', 'matches nothing special'],
          ['acme/pct100%', null],
          ['acme/pct1000', 'Back\\slash here'],
          ['acme/cafe', 'café au lait'],
          ['acme/zeta', 'WEATHER forecast'],
        ] as const)
          await tx.insertTool(toolRow(id, description));
      });
    });

    const ids = async (after: string, limit: number, query?: string): Promise<string[]> => (await store.listTools(after, limit, query)).map((t) => t.tool_id);

    it('pages in id order after a tool id', async () => {
      expect(await ids('', 3)).toStrictEqual(['acme/a_b', 'acme/axb', 'acme/cafe']);
      expect(await ids('acme/cafe', 2)).toStrictEqual(['acme/pct100%', 'acme/pct1000']);
      expect(await ids('acme/zeta', 5)).toStrictEqual([]);
    });

    it.each([
      ['_ is a literal underscore, not any one character', '_', ['acme/a_b']],
      ['% is a literal percent sign, not any run', '%', ['acme/pct100%']],
      ['\\ is a literal backslash', '\\', ['acme/pct1000']],
      ['a substring of the description', 'forecast', ['acme/zeta']],
      ['ASCII letters fold case (as SQLite LIKE)', 'weather', ['acme/zeta']],
      ['ASCII letters fold case in ids', 'A_B', ['acme/a_b']],
      ['other letters do not fold (as SQLite LIKE)', 'CAFÉ', []],
      ['other letters match themselves', 'é au', ['acme/cafe']],
    ])('query: %s', async (_name, query, expected) => {
      expect(await ids('', 100, query)).toStrictEqual(expected);
    });

    it('a query pages too', async () => {
      expect(await ids('', 1, 'acme/')).toStrictEqual(['acme/a_b']);
      expect(await ids('acme/a_b', 1, 'acme/')).toStrictEqual(['acme/axb']);
    });
  });

  describe('useStatement', () => {
    it('records a digest once: a replay is refused, an expired one is purged and may be used again', async () => {
      const use = (digest: string, expires: number, now: number): Promise<boolean> => store.transaction((tx) => tx.useStatement(digest, expires, now));
      expect(await use('d1', 100, 50)).toBe(true);
      expect(await use('d1', 100, 60)).toBe(false);
      expect(await use('d2', 500, 60)).toBe(true);
      expect((await store.counts()).usedStatements).toBe(2);
      // at 200 d1 (expired at 100) is purged; d2 is kept
      expect(await use('d1', 300, 200)).toBe(true);
      expect(await use('d2', 900, 200)).toBe(false);
      expect((await store.counts()).usedStatements).toBe(2);
    });
  });

  describe('the log tree', () => {
    it('appends leaves at the size only, stores nodes and checkpoints', async () => {
      expect(await store.tree.size()).toBe(0);
      expect(await store.tree.latestCheckpoint()).toBeUndefined();
      await store.transaction(async (tx) => {
        await expect(tx.savepoint(() => tx.tree.insertLeaf(1, bytes(1)))).rejects.toThrow();
        await tx.tree.insertLeaf(0, bytes(0, 1, 2));
        await tx.tree.insertLeaf(1, bytes(3));
        await expect(tx.savepoint(() => tx.tree.insertLeaf(1, bytes(4)))).rejects.toThrow();
        await tx.tree.insertNodes([
          { level: 0, idx: 0, hash: hash(1) },
          { level: 0, idx: 1, hash: hash(2) },
          { level: 1, idx: 0, hash: hash(3) },
        ]);
        await tx.tree.insertCheckpoint({ size: 1, rootHash: hash(1), note: 'note 1\n' }, new Date('2026-01-01T00:00:00Z'));
        await tx.tree.insertCheckpoint({ size: 2, rootHash: hash(3), note: 'note 2\n' }, new Date('2026-01-01T00:00:01Z'));
        expect(await tx.tree.size()).toBe(2);
      });
      expect(await store.tree.size()).toBe(2);
      expect(await store.tree.entries(0, 2)).toStrictEqual([
        { index: 0, data: bytes(0, 1, 2) },
        { index: 1, data: bytes(3) },
      ]);
      expect(await store.tree.entries(1, 5)).toStrictEqual([{ index: 1, data: bytes(3) }]);
      expect(await store.tree.leafIndexOf(hash(2))).toBe(1);
      // level-1 hashes are not leaf hashes
      expect(await store.tree.leafIndexOf(hash(3))).toBeUndefined();
      expect(await store.tree.latestCheckpoint()).toStrictEqual({ size: 2, rootHash: hash(3), note: 'note 2\n' });
      expect(await store.tree.allCheckpoints()).toStrictEqual([
        { size: 1, rootHash: hash(1), note: 'note 1\n' },
        { size: 2, rootHash: hash(3), note: 'note 2\n' },
      ]);
    });

    it('nodes answers in the order asked, undefined where nothing is stored', async () => {
      await store.transaction((tx) =>
        tx.tree.insertNodes([
          { level: 0, idx: 0, hash: hash(10) },
          { level: 0, idx: 1, hash: hash(11) },
          { level: 1, idx: 0, hash: hash(20) },
          { level: 0, idx: 2 ** 40, hash: hash(12) },
        ]),
      );
      expect(await store.tree.nodes([])).toStrictEqual([]);
      expect(await store.tree.nodes([[1, 0], [0, 5], [0, 0], [3, 2], [0, 2 ** 40], [0, 0]])).toStrictEqual([hash(20), undefined, hash(10), undefined, hash(12), hash(10)]);
    });

    it('keeps one origin: a second setOrigin fails', async () => {
      await expect(store.transaction((tx) => tx.tree.setOrigin('other.example/log'))).rejects.toThrow();
      expect(await store.tree.origin()).toBe(ORIGIN);
    });
  });

  describe('transactions', () => {
    /** One of every write. */
    async function writeEverything(tx: StoreTx): Promise<void> {
      await tx.insertNamespace(namespaceRow('newns'));
      await tx.insertKey(keyRow('acme', 'k9'));
      await tx.revokeKey('acme', 'k1', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 'lost');
      await tx.insertTool(toolRow('acme/new'));
      await tx.updateTool({ tool_id: 'acme/tool', latest_version: '1.1.0', title: 't', description: 'd', updated_at: '2026-05-01T00:00:00.000Z' });
      await tx.insertVersion(versionRow('acme/tool', '1.1.0', 5));
      await tx.revokeVersion('acme/tool', '1.0.0', '2026-05-01T00:00:00.000Z', 'r', 'admin');
      await tx.markSignatureVoid('acme/tool', '1.0.0');
      await tx.insertAudit(auditRow(5, 'version.published'));
      await tx.useStatement('s2', 5000, 4000); // purges s1
      await tx.insertRegistryKey({ kid: 'j2', purpose: 'jwt', private_jwk: '{}', created_at: 2 });
      await tx.retireRegistryKeys('jwt', 'j2', 3);
      await tx.revokeRegistryKey('j1', 4);
      await tx.tree.insertLeaf(1, bytes(9));
      await tx.tree.insertNodes([{ level: 0, idx: 1, hash: hash(9) }, { level: 1, idx: 0, hash: hash(8) }]);
      await tx.tree.insertCheckpoint({ size: 2, rootHash: hash(8), note: 'n' }, new Date(0));
    }

    beforeEach(async () => {
      await store.transaction(async (tx) => {
        await seedTool(tx);
        await tx.insertKey(keyRow('acme', 'k1'));
        await tx.insertVersion(versionRow('acme/tool', '1.0.0', 0));
        await tx.insertAudit(auditRow(0, 'namespace.registered'));
        await tx.useStatement('s1', 1000, 0);
        await tx.insertRegistryKey({ kid: 'j1', purpose: 'jwt', private_jwk: '{}', created_at: 1 });
        await tx.tree.insertLeaf(0, bytes(1));
        await tx.tree.insertNodes([{ level: 0, idx: 0, hash: hash(1) }]);
        await tx.tree.insertCheckpoint({ size: 1, rootHash: hash(1), note: 'n' }, new Date(0));
      });
    });

    it('returns the callback\'s result after commit', async () => {
      expect(await store.transaction(async (tx) => (await tx.tree.size()) + 41)).toBe(42);
    });

    it('a transaction that throws leaves the store as it was, and rethrows the same error', async () => {
      const before = await dumpStore(store, ['acme', 'newns']);
      const boom = new Error('boom');
      await expect(
        store.transaction(async (tx) => {
          await writeEverything(tx);
          expect(await tx.tree.size()).toBe(2);
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(await dumpStore(store, ['acme', 'newns'])).toStrictEqual(before);
    });

    it('the same writes commit when nothing throws (the dump sees them)', async () => {
      const before = await dumpStore(store, ['acme', 'newns']);
      await store.transaction(writeEverything);
      expect(await dumpStore(store, ['acme', 'newns'])).not.toStrictEqual(before);
      expect(await store.tree.size()).toBe(2);
      expect(await store.getNamespace('newns')).toBeDefined();
    });

    it('a failing statement leaves the store as it was too', async () => {
      const before = await dumpStore(store, ['acme', 'newns']);
      await expect(
        store.transaction(async (tx) => {
          await tx.insertNamespace(namespaceRow('newns'));
          await tx.insertNamespace(namespaceRow('newns'));
        }),
      ).rejects.toThrow(/unique/i);
      expect(await dumpStore(store, ['acme', 'newns'])).toStrictEqual(before);
    });

    it('a savepoint that throws rolls back its own writes only; the transaction goes on', async () => {
      const boom = new Error('inner');
      await store.transaction(async (tx) => {
        await tx.insertNamespace(namespaceRow('before'));
        await expect(
          tx.savepoint(async () => {
            await tx.insertNamespace(namespaceRow('inside'));
            await tx.tree.insertLeaf(1, bytes(7));
            throw boom;
          }),
        ).rejects.toBe(boom);
        expect(await tx.getNamespace('inside')).toBeUndefined();
        expect(await tx.tree.size()).toBe(1);
        // a constraint violation inside a savepoint does not end the transaction either
        await expect(tx.savepoint(() => tx.insertNamespace(namespaceRow('before')))).rejects.toThrow(/unique/i);
        expect(await tx.savepoint(async () => (await tx.insertNamespace(namespaceRow('kept')), 'value'))).toBe('value');
        await tx.insertNamespace(namespaceRow('after'));
      });
      for (const [ns, present] of [['before', true], ['inside', false], ['kept', true], ['after', true]] as const)
        expect(await store.getNamespace(ns), ns).toEqual(present ? expect.objectContaining({ namespace: ns }) : undefined);
      expect(await store.tree.size()).toBe(1);
    });

    it('nested savepoints roll back independently', async () => {
      await store.transaction(async (tx) => {
        await tx.savepoint(async () => {
          await tx.insertNamespace(namespaceRow('outer'));
          await expect(
            tx.savepoint(async () => {
              await tx.insertNamespace(namespaceRow('inner'));
              throw new Error('inner');
            }),
          ).rejects.toThrow('inner');
        });
      });
      expect(await store.getNamespace('outer')).toBeDefined();
      expect(await store.getNamespace('inner')).toBeUndefined();
    });

    it('reads on the store see committed state only; reads on the transaction see its writes', async () => {
      const inside = gate();
      const done = gate();
      const tx = store.transaction(async (t) => {
        await t.insertNamespace(namespaceRow('pending'));
        await t.tree.insertLeaf(1, bytes(5));
        expect(await t.getNamespace('pending')).toBeDefined();
        expect(await t.tree.size()).toBe(2);
        inside.open();
        await done.promise;
      });
      await inside.promise;
      expect(await store.getNamespace('pending')).toBeUndefined();
      expect(await store.tree.size()).toBe(1);
      expect((await store.counts()).namespaces).toBe(1);
      done.open();
      await tx;
      expect(await store.getNamespace('pending')).toBeDefined();
      expect(await store.tree.size()).toBe(2);
    });

    it('a StoreTx kept past its transaction cannot be used', async () => {
      let kept: StoreTx | undefined;
      await store.transaction(async (tx) => void (kept = tx));
      await expect(kept!.tree.size()).rejects.toThrow();
      await expect(kept!.insertNamespace(namespaceRow('late'))).rejects.toThrow();
      expect(await store.getNamespace('late')).toBeUndefined();
    });

    it('concurrent transactions are serialised: the second starts after the first commits and sees its leaf', async () => {
      await expectSerialised(store, store);
    });
  });
});
