import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { buildSync } from 'esbuild';
import request from 'supertest';
import {
  canonicalBytes,
  generateKeyPair,
  keyAddRequest,
  registrationRequest,
  signBytes,
  signManifest,
  toHex,
  tokenRequest,
  type GeneratedKeyPair,
} from '../../protocol/index.js';
import {
  MANIFEST_TYPE,
  type LogEvent,
  type SignedManifest,
  type ToolDefinition,
  type ToolManifest,
} from '../../schemas/index.js';
import { PostgresStore } from '../../registry/store/postgres/index.js';
import { freshDatabase } from '../support/postgres.js';
import { createApp, SqliteStore, type RegistryApp, type RegistryConfigInput, type Store, type StoreCounts, type TransparencyLog } from '../../registry/index.js';

export const ORIGIN = 'https://registry.test';
export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

export const realTools = (server: string): ToolDefinition[] =>
  JSON.parse(readFileSync(new URL(`../fixtures/real-tools/${server}.json`, import.meta.url), 'utf8')) as ToolDefinition[];

export interface Harness {
  app: RegistryApp;
  store: Store;
  log: TransparencyLog;
  dir: string;
  clock: { now: number };
  /** Raw SQL on the store's database, as someone with write access to it (tampering cases); returns rows changed. */
  sql(statement: string): Promise<number>;
  close(): Promise<void>;
}

/** Which store the registry tests run on: vitest.config.ts runs them once on each. */
export const TEST_STORE: 'sqlite' | 'postgres' = process.env.ETDI_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

/** A store for one registry: a real SQLite file in `dir`, or a fresh database on the test PostgreSQL. */
async function openTestStore(dir: string): Promise<{ store: Store; sql(statement: string): Promise<number>; drop(): Promise<void> }> {
  if (TEST_STORE === 'postgres') {
    const db = await freshDatabase();
    const store = await PostgresStore.open({ url: db.url, logOrigin: LOG_ORIGIN });
    return {
      store,
      sql: async (statement) => {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        try {
          return (await client.query(statement)).rowCount ?? 0;
        } finally {
          await client.end();
        }
      },
      drop: () => db.drop(),
    };
  }
  const store = SqliteStore.open({ path: join(dir, 'registry.db'), logOrigin: LOG_ORIGIN });
  return {
    store,
    sql: async (statement) => {
      const db = new Database(store.path);
      try {
        return db.prepare(statement).run().changes;
      } finally {
        db.close();
      }
    },
    drop: async () => undefined,
  };
}

const LOG_ORIGIN = 'registry.test/log';

/** A registry app on a fresh store of the store under test (TEST_STORE), with a temp dir. */
export async function harness(config: RegistryConfigInput = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'etdi-registry-'));
  const { store, sql, drop } = await openTestStore(dir);
  const clock = { now: Date.now() };
  const app = await createApp({
    store,
    now: () => clock.now,
    config: {
      origin: ORIGIN,
      logOrigin: LOG_ORIGIN,
      adminToken: ADMIN_TOKEN,
      requestLog: false,
      rateLimit: false,
      errorLog: process.env.ETDI_TEST_ERRORS ? (l) => console.error(l) : () => undefined,
      ...config,
    },
  });
  return {
    app,
    store,
    log: app.registry.ctx.log,
    dir,
    clock,
    sql,
    close: async () => {
      await store.close();
      await drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}


let workerBundle: URL | undefined;

/**
 * The write worker (registry/services/write-worker.ts) bundled from the current sources, once per
 * test process: a worker thread cannot load TypeScript, and the compiled dist/ copy could be
 * stale. esbuild (vite's, which vitest runs on) bundles it with its packages except the native
 * better-sqlite3; the file sits under node_modules/.cache so that one resolves as in the repo.
 */
export function bundledWriteWorker(): URL {
  if (workerBundle !== undefined) return workerBundle;
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const dir = join(root, 'node_modules/.cache/etdi-test');
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, `write-worker-${process.pid}.mjs`);
  buildSync({
    entryPoints: [join(root, 'registry/services/write-worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['better-sqlite3'], // native; everything else is bundled (JSON data included)
    conditions: ['etdi-source'], // the workspace packages' TypeScript sources, as vitest runs them
    outfile,
    logLevel: 'silent',
  });
  process.once('exit', () => rmSync(outfile, { force: true }));
  workerBundle = pathToFileURL(outfile);
  return workerBundle;
}

/**
 * Both writers of the SQLite store: publishes committed on the event loop's connection, and on
 * the write worker's. PostgreSQL has one (its commits run in the server's processes).
 */
export const WRITERS = (
  [
    ['event loop', (): RegistryConfigInput => ({ writeWorker: 'off' })],
    ['write worker', (): RegistryConfigInput => ({ writeWorker: bundledWriteWorker() })],
  ] as const
).filter(([writer]) => TEST_STORE === 'sqlite' || writer === 'event loop');

/** Everything a refused request must leave as it was. */
export async function snapshot(h: Harness): Promise<{ counts: StoreCounts; logSize: number; root: string }> {
  return { counts: await h.store.counts(), logSize: await h.log.size(), root: toHex(await h.log.rootHash()) };
}

export async function registrationBody(
  h: Harness,
  namespace: string,
  key: GeneratedKeyPair,
  overrides: { registry?: string; issuedAt?: string; verification?: 'well-known' | 'admin-grant' } = {},
): Promise<Record<string, unknown>> {
  const frame = { registry: overrides.registry ?? ORIGIN, namespace, issuedAt: overrides.issuedAt ?? new Date(h.clock.now).toISOString() };
  return { ...(await registrationRequest(key.privateJwk, frame, overrides.verification ?? 'admin-grant')) };
}

/** Registers `namespace` by admin grant and returns a publisher token for its first key. */
export async function provider(h: Harness, namespace: string, key = generateKeyPair()): Promise<{ key: GeneratedKeyPair; token: string }> {
  const res = await request(h.app)
    .post('/v1/namespaces')
    .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
    .send(await registrationBody(h, namespace, key));
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { key, token: await publisherToken(h, namespace, key) };
}

export async function tokenBody(h: Harness, namespace: string, key: GeneratedKeyPair, registry = ORIGIN): Promise<Record<string, unknown>> {
  return { ...(await tokenRequest(key.privateJwk, { registry, namespace, issuedAt: new Date(h.clock.now).toISOString() })) };
}

export async function publisherToken(h: Harness, namespace: string, key: GeneratedKeyPair): Promise<string> {
  const res = await request(h.app).post('/v1/tokens').send(await tokenBody(h, namespace, key));
  if (res.status !== 201) throw new Error(`token failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access_token as string;
}

/** A key-add request; `signer` other than `authorizer` makes the forgery the tests refuse. */
export async function keyAddBody(
  h: Harness,
  namespace: string,
  authorizer: GeneratedKeyPair,
  fresh: GeneratedKeyPair,
  signer: GeneratedKeyPair = authorizer,
): Promise<Record<string, unknown>> {
  const body = await keyAddRequest(authorizer.privateJwk, fresh.privateJwk, { registry: ORIGIN, namespace, issuedAt: new Date(h.clock.now).toISOString() });
  return signer === authorizer ? { ...body } : { ...body, signature: await signBytes(signer.privateJwk, canonicalBytes(body.statement)) };
}

export function manifestOf(namespace: string, definition: ToolDefinition, version: string, extra: Partial<ToolManifest> = {}): ToolManifest {
  return {
    type: MANIFEST_TYPE,
    toolId: `${namespace}/${definition.name}`,
    version,
    provider: namespace,
    definition,
    permissions: ['files:read'],
    issuedAt: new Date().toISOString(),
    ...extra,
  };
}

export async function signed(key: GeneratedKeyPair, manifest: ToolManifest): Promise<SignedManifest> {
  return signManifest(manifest, [key.privateJwk]);
}

export function publishReq(h: Harness, token: string, body: unknown): request.Test {
  return request(h.app)
    .post('/v1/tools')
    .set('Authorization', `Bearer ${token}`)
    .set('Content-Type', 'application/json')
    .send(typeof body === 'string' ? body : JSON.stringify(body));
}

/** The newest `n` audit events, newest first, decoded. */
export async function auditTail(h: Harness, n: number): Promise<{ leafIndex: number; event: LogEvent }[]> {
  return (await h.store.auditTail(n)).map((r) => ({ leafIndex: r.leaf_index, event: JSON.parse(r.event) as LogEvent }));
}
