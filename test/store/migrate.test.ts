// Issue 19: `etdi migrate`, the one-way copy of a SQLite registry into PostgreSQL. The copy keeps
// every version, every leaf and the same log root; the registry on PostgreSQL serves what the
// SQLite one served and goes on logging from there; a refused copy leaves the target as it was.
import request from 'supertest';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../client-verifier/log/index.js';
import { fromBase64 } from '../../protocol/index.js';
import { copySqliteToPostgres, createApp, fsckRegistry, PostgresStore, SqliteStore } from '../../registry/index.js';
import { freshDatabase, type TestDatabase } from '../support/postgres.js';
import { dumpStore } from '../support/store-dump.js';
import { ADMIN_TOKEN, harness, manifestOf, ORIGIN, provider, publishReq, realTools, signed, type Harness } from '../registry/helpers.js';

const LOG_ORIGIN = 'registry.test/log';
const tools = realTools('filesystem');
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function target(): Promise<TestDatabase> {
  const db = await freshDatabase();
  cleanup.push(() => db.drop());
  return db;
}

/** A SQLite registry with history: two namespaces, versions, a revocation, a registry key rotation. */
async function sqliteRegistry(): Promise<{ h: Harness; path: string }> {
  const h = await harness();
  cleanup.push(() => h.close());
  const acme = await provider(h, 'com.acme');
  const zeta = await provider(h, 'dev.zeta');
  for (const [i, tool] of tools.slice(0, 4).entries()) {
    expect((await publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', tool, '1.0.0')))).status).toBe(201);
    if (i < 2) expect((await publishReq(h, zeta.token, await signed(zeta.key, manifestOf('dev.zeta', tool, `0.${i}.0`)))).status).toBe(201);
  }
  expect((await publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', tools[0]!, '1.1.0')))).status).toBe(201);
  const revoke = await request(h.app).post(`/v1/tools/com.acme/${tools[1]!.name}/versions/1.0.0/revoke`).set('Authorization', `Bearer ${acme.token}`).send({ reason: 'test' });
  expect(revoke.status).toBe(200);
  expect((await request(h.app).post('/v1/admin/registry-keys/rotate').set('Authorization', `Bearer ${ADMIN_TOKEN}`)).status).toBe(200);
  return { h, path: (h.store as SqliteStore).path };
}

/** The tables in the database's public schema (none before the first store opens it). */
async function tablesIn(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).rows.map((r) => r.table_name);
  } finally {
    await client.end();
  }
}

describe('etdi migrate: a SQLite registry copied into PostgreSQL', () => {
  it('keeps every namespace, key, version, audit row, leaf, subtree hash and signed checkpoint: the two stores read the same', async () => {
    const { h, path } = await sqliteRegistry();
    const db = await target();
    const source = SqliteStore.open({ path, readonly: true });
    cleanup.push(() => source.close());
    const report = await copySqliteToPostgres(source, db.url);
    expect(report.size).toBe(await h.log.size());
    const copy = await PostgresStore.open({ url: db.url, logOrigin: LOG_ORIGIN });
    cleanup.push(() => copy.close());
    expect(await dumpStore(copy, ['com.acme', 'dev.zeta'])).toEqual(await dumpStore(source, ['com.acme', 'dev.zeta']));
    expect(await fsckRegistry(copy)).toMatchObject({ ok: true, size: report.size, rootHash: report.rootHash });
  });

  it('serves the same checkpoint, records and proofs from PostgreSQL, and the log goes on from the same root (consistent with the old checkpoint)', async () => {
    const { h, path } = await sqliteRegistry();
    const db = await target();
    const before = {
      checkpoint: (await request(h.app).get('/v1/log/checkpoint')).text,
      record: (await request(h.app).get(`/v1/tools/com.acme/${tools[0]!.name}/versions/1.1.0`)).body,
      status: (await request(h.app).get(`/v1/tools/com.acme/${tools[1]!.name}/versions/1.0.0/status`)).body,
      proof: (await request(h.app).get('/v1/log/proof/inclusion?index=3')).body,
    };
    const size = await h.log.size();
    const source = SqliteStore.open({ path, readonly: true });
    await copySqliteToPostgres(source, db.url);
    await source.close();

    const store = await PostgresStore.open({ url: db.url, logOrigin: LOG_ORIGIN });
    cleanup.push(() => store.close());
    const app = await createApp({ store, config: { origin: ORIGIN, logOrigin: LOG_ORIGIN, adminToken: ADMIN_TOKEN, requestLog: false, rateLimit: false } });
    expect((await request(app).get('/v1/log/checkpoint')).text).toBe(before.checkpoint);
    expect((await request(app).get(`/v1/tools/com.acme/${tools[0]!.name}/versions/1.1.0`)).body).toEqual(before.record);
    // the same status and inclusion proof (the attestation is re-issued on each read: it carries its own time)
    const { attestation: _then, ...status } = before.status;
    const { attestation: _now, ...statusNow } = (await request(app).get(`/v1/tools/com.acme/${tools[1]!.name}/versions/1.0.0/status`)).body;
    expect(statusNow).toEqual(status);
    expect((await request(app).get('/v1/log/proof/inclusion?index=3')).body).toEqual(before.proof);

    // the migrated registry goes on: a new namespace and publish, logged after the copied entries
    const onPostgres: Harness = { ...h, app, store, log: app.registry.ctx.log };
    const next = await provider(onPostgres, 'org.next');
    expect((await publishReq(onPostgres, next.token, await signed(next.key, manifestOf('org.next', tools[0]!, '1.0.0')))).status).toBe(201);
    // a client holding the SQLite registry's checkpoint accepts the PostgreSQL one's newer one
    const { verifierKey } = (await request(app).get('/v1/log/key')).body as { verifierKey: string };
    const client = await CheckpointStore.fromNote(verifierKey, before.checkpoint);
    const newer = (await request(app).get('/v1/log/checkpoint')).text;
    const proof = async (from: number, to: number): Promise<Uint8Array[]> =>
      ((await request(app).get(`/v1/log/proof/consistency?from=${from}&to=${to}`)).body as { hashes: string[] }).hashes.map(fromBase64);
    expect((await client.advance(newer, proof)).size).toBeGreaterThan(size);
    expect(await fsckRegistry(store)).toMatchObject({ ok: true });
  });

  it('refuses a target that already holds a registry, and leaves it as it was', async () => {
    const { path } = await sqliteRegistry();
    const db = await target();
    const source = SqliteStore.open({ path, readonly: true });
    cleanup.push(() => source.close());
    await copySqliteToPostgres(source, db.url);
    const copy = await PostgresStore.open({ url: db.url, logOrigin: LOG_ORIGIN });
    cleanup.push(() => copy.close());
    const before = await dumpStore(copy, ['com.acme', 'dev.zeta']);
    await expect(copySqliteToPostgres(source, db.url)).rejects.toThrow(/not empty/);
    expect(await dumpStore(copy, ['com.acme', 'dev.zeta'])).toEqual(before);
  });

  it('refuses a source that does not pass fsck (a manifest rewritten after logging), writing nothing', async () => {
    const { h, path } = await sqliteRegistry();
    await h.sql(`UPDATE versions SET signed_manifest = replace(signed_manifest, '"description":"', '"description":"Also uploads your files. ')`);
    const db = await target();
    const source = SqliteStore.open({ path, readonly: true });
    cleanup.push(() => source.close());
    await expect(copySqliteToPostgres(source, db.url)).rejects.toThrow(/does not pass fsck/);
    expect(await tablesIn(db.url)).toEqual([]);
  });
});
