// What only the PostgreSQL store promises (the Store contract itself is contract.test.ts): several
// processes on one database, the bounded pool, the lock's visibility and release, the settings.
import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { RegistryError } from '../../registry/errors.js';
import { PostgresStore, POSTGRES_MIGRATIONS, WRITE_LOCK_KEY } from '../../registry/store/postgres/index.js';
import type { Store } from '../../registry/store/types.js';
import { freshDatabase, type TestDatabase } from '../support/postgres.js';
import { ROOT } from '../support/processes.js';
import { expectSerialised, gate } from '../support/store-serialisation.js';

const ORIGIN = 'registry.example/etdi-log';

let db: TestDatabase;
const opened: Store[] = [];

async function open(options: Partial<Parameters<typeof PostgresStore.open>[0]> = {}): Promise<PostgresStore> {
  const store = await PostgresStore.open({ url: db.url, logOrigin: ORIGIN, ...options });
  opened.push(store);
  return store;
}

/** A plain connection to the test database, for what the Store interface does not show. */
async function sql<R extends object>(text: string, values?: unknown[]): Promise<R[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

beforeEach(async () => {
  db = await freshDatabase();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  await db.drop();
});

describe('PostgresStore', () => {
  describe('several processes on one database', () => {
    it('serialises the transactions of two stores (two pools, as two processes have)', async () => {
      const a = await open();
      const b = await open();
      await expectSerialised(a, b);
      await expectSerialised(b, a);
    });

    it('three stores opening a fresh database at once apply each migration once', async () => {
      const stores = await Promise.all([open(), open(), open()]);
      for (const store of stores) expect(await store.schemaVersion()).toStrictEqual({ current: POSTGRES_MIGRATIONS.length, latest: POSTGRES_MIGRATIONS.length });
      expect(await sql('SELECT version FROM schema_migrations ORDER BY version')).toStrictEqual(POSTGRES_MIGRATIONS.map((_, i) => ({ version: i + 1 })));
      expect(await sql("SELECT name, value FROM log_meta")).toStrictEqual([{ name: 'origin', value: ORIGIN }]);
    });

    it('shows which process holds the write lock (pg_locks + pg_stat_activity)', async () => {
      const store = await open();
      const inside = gate();
      const release = gate();
      const tx = store.transaction(async () => {
        inside.open();
        await release.promise;
      });
      await inside.promise;
      const holders = await sql<{ application_name: string; classid: string; objid: string }>(
        `SELECT a.application_name, l.classid::text AS classid, l.objid::text AS objid
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      release.open();
      await tx;
      // a bigint advisory key shows as its high and low 32 bits
      expect(holders).toStrictEqual([{ application_name: `etdi-registry:${process.pid}`, classid: String(WRITE_LOCK_KEY >> 32n), objid: String(WRITE_LOCK_KEY & 0xffffffffn) }]);
    });

    it('a killed process releases the lock: its connection drops and its transaction rolls back', async () => {
      const store = await open();
      // a separate process takes the write lock in a transaction with one write, then is SIGKILLed
      const child = spawn(
        process.execPath,
        [
          '-e',
          `const pg = require('pg');
           const c = new pg.Client({ connectionString: process.argv[1] });
           c.connect()
             .then(() => c.query("BEGIN; SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY}); INSERT INTO log_leaves (idx, data) VALUES (0, 'x')"))
             .then(() => console.log('locked'));
           setInterval(() => {}, 1000);`,
          db.url,
        ],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
        child.on('exit', () => reject(new Error('the lock holder exited early')));
      });
      const inside = { entered: false };
      const waiting = store.transaction(async (tx) => {
        inside.entered = true;
        return tx.tree.size();
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(inside.entered).toBe(false);
      child.kill('SIGKILL');
      // its uncommitted leaf is gone: the waiting transaction sees an empty tree
      expect(await waiting).toBe(0);
    });
  });

  describe('atomicity, table by table', () => {
    /** Every table of the schema, every row, in a fixed order: what dumpStore cannot reach through the interface too. */
    async function dumpTables(): Promise<Record<string, unknown[]>> {
      const tables = await sql<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename");
      const dump: Record<string, unknown[]> = {};
      for (const { name } of tables) dump[name] = await sql(`SELECT * FROM ${name} ORDER BY 1, 2`);
      return dump;
    }

    it('a transaction that wrote to every table and threw leaves every table as it was', async () => {
      const store = await open();
      await store.transaction(async (tx) => {
        await tx.insertNamespace({ namespace: 'acme', skeleton: 'acme', verification: 'well-known', registered_at: 't', registered_by: 'p', leaf_index: 0 });
        await tx.useStatement('s1', 100, 0);
        await tx.tree.insertLeaf(0, new Uint8Array([1]));
      });
      const before = await dumpTables();
      expect(Object.keys(before)).toHaveLength(12); // 11 of the store and schema_migrations
      await expect(
        store.transaction(async (tx) => {
          await tx.insertNamespace({ namespace: 'other', skeleton: 'other', verification: 'admin-grant', registered_at: 't', registered_by: 'p', leaf_index: 1 });
          await tx.insertKey({ namespace: 'acme', key_id: 'k1', jwk: '{}', added_at: 't', added_by: 'p', leaf_index: 1 });
          await tx.insertTool({ tool_id: 'acme/t', namespace: 'acme', name: 't', latest_version: '1.0.0', version_count: 1, title: null, description: null, created_at: 't', updated_at: 't' });
          await tx.insertVersion({ tool_id: 'acme/t', version: '1.0.0', namespace: 'acme', signed_manifest: '{}', manifest_digest: 'm', definition_digest: 'd', signer_key_id: 'k1', published_at: 't', published_by: 'p', leaf_index: 1 });
          await tx.insertAudit({ leaf_index: 1, at: 't', actor: 'p', kind: 'version.published', subject: 's', event: '{}' });
          await tx.useStatement('s2', 500, 200); // purges s1
          await tx.insertRegistryKey({ kid: 'j1', purpose: 'jwt', private_jwk: '{}', created_at: 1 });
          await tx.tree.insertLeaf(1, new Uint8Array([2]));
          await tx.tree.insertNodes([{ level: 0, idx: 1, hash: new Uint8Array(32) }]);
          await tx.tree.insertCheckpoint({ size: 2, rootHash: new Uint8Array(32), note: 'n' }, new Date(0));
          throw new Error('refused');
        }),
      ).rejects.toThrow('refused');
      expect(await dumpTables()).toStrictEqual(before);
    });
  });

  describe('bounded waiting: STORE_BUSY instead of an unbounded queue', () => {
    it('refuses at once when the queue is full, and after acquireTimeoutMs when waiting', async () => {
      const store = await open({ pool: { max: 1, queueLimit: 1, acquireTimeoutMs: 300 } });
      const inside = gate();
      const release = gate();
      const holder = store.transaction(async () => {
        inside.open();
        await release.promise;
      });
      await inside.promise;

      const started = Date.now();
      const queued = store.getTool('acme/tool').then(
        () => 'answered',
        (error: unknown) => error,
      );
      const refused = await store.getTool('acme/tool').catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(RegistryError);
      expect(refused).toMatchObject({ code: 'STORE_BUSY', headers: { 'Retry-After': '1' }, message: expect.stringContaining('pool.max') });
      expect(Date.now() - started).toBeLessThan(250);

      const timedOut = await queued;
      expect(timedOut).toMatchObject({ code: 'STORE_BUSY', headers: { 'Retry-After': '1' } });
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(Date.now() - started).toBeLessThan(2000);

      release.open();
      await holder;
      // the pool is whole again
      expect(await store.getTool('acme/tool')).toBeUndefined();
      expect(await store.transaction(async (tx) => tx.tree.size())).toBe(0);
    });

    it('a waiter gets the connection another caller gives back', async () => {
      const store = await open({ pool: { max: 1, queueLimit: 4, acquireTimeoutMs: 5000 } });
      const results = await Promise.all(Array.from({ length: 5 }, (_, i) => store.transaction(async (tx) => (await tx.tree.size()) + i)));
      expect(results).toStrictEqual([0, 1, 2, 3, 4]);
    });

    it('refuses a transaction that waited lockTimeoutMs for the write lock', async () => {
      const a = await open();
      const b = await open({ pool: { lockTimeoutMs: 200 } });
      const inside = gate();
      const release = gate();
      const holder = a.transaction(async () => {
        inside.open();
        await release.promise;
      });
      await inside.promise;
      const started = Date.now();
      await expect(b.transaction(async () => 'never')).rejects.toMatchObject({ code: 'STORE_BUSY', headers: { 'Retry-After': '1' } });
      expect(Date.now() - started).toBeLessThan(2000);
      release.open();
      await holder;
      expect(await b.transaction(async () => 'now')).toBe('now');
    });
  });

  describe('settings and conversions', () => {
    it('sets synchronous_commit = on for its sessions even where the database default is off', async () => {
      await sql(`ALTER DATABASE ${db.name} SET synchronous_commit = off`);
      // open() reads the setting on its own session and refuses "off" (next test): the session's
      // startup option overrides the database default
      const store = await open();
      expect(await store.transaction(async (tx) => tx.tree.size())).toBe(0);
    });

    it('refuses a connection that turns synchronous_commit off', async () => {
      const url = new URL(db.url);
      url.searchParams.set('options', '-c synchronous_commit=off');
      await expect(PostgresStore.open({ url: url.toString(), logOrigin: ORIGIN })).rejects.toThrow(/synchronous_commit is off/);
    });

    it('never shows the password in its location', async () => {
      const store = await open();
      expect(store.location).not.toContain(new URL(db.url).password);
      expect(store.location).toContain(db.name);
      expect(store.kind).toBe('postgres');
    });

    it('refuses a bigint beyond the safe integers rather than rounding it', async () => {
      const store = await open();
      await sql("INSERT INTO log_leaves (idx, data) VALUES (9007199254740993, 'x')");
      await expect(store.tree.size()).rejects.toThrow(RangeError);
    });

    it('returns bytes as plain Uint8Array views', async () => {
      const store = await open();
      await store.transaction(async (tx) => {
        await tx.tree.insertLeaf(0, new Uint8Array([1, 2, 3]));
        await tx.tree.insertNodes([{ level: 0, idx: 0, hash: new Uint8Array(32).fill(7) }]);
      });
      const [entry] = await store.tree.entries(0, 1);
      const [node] = await store.tree.nodes([[0, 0]]);
      for (const value of [entry!.data, node!]) expect(Object.getPrototypeOf(value)).toBe(Uint8Array.prototype);
    });
  });
});
