import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// `@etdi/*` resolves to each package's TypeScript sources (its `etdi-source` export condition):
// the tests run the code as written, never a stale dist/ (tests/setup checks that it took).
const conditions = ['etdi-source', ...defaultServerConditions];

/**
 * The registry API's tests run twice, the same cases on each store: on SQLite (with everything
 * else) and on PostgreSQL (ETDI_TEST_STORE=postgres: test/registry/helpers.ts harness() opens a
 * fresh PostgreSQL database per registry). The files left out of the second run test what only
 * the SQLite store has: its file, WAL and write worker, its backups, its data-directory lock.
 */
const SQLITE_ONLY = ['backup', 'data-lock', 'demo', 'write-worker', 'request-log-batching'].map((name) => `test/registry/${name}.test.ts`);

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // one throwaway PostgreSQL per run for the PostgreSQL store's tests (ETDI_TEST_DATABASE_URL: use that server)
    globalSetup: ['test/support/postgres-global-setup.ts'],
    projects: [
      { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'], exclude: ['**/dist/**', 'node_modules/**'] } },
      {
        extends: true,
        test: { name: 'postgres', include: ['test/registry/**/*.test.ts'], exclude: ['**/dist/**', 'node_modules/**', ...SQLITE_ONLY], env: { ETDI_TEST_STORE: 'postgres' } },
      },
    ],
  },
});
