import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// `@etdi/*` resolves to each package's TypeScript sources (its `etdi-source` export condition):
// the tests run the code as written, never a stale dist/ (tests/setup checks that it took).
const conditions = ['etdi-source', ...defaultServerConditions];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/dist/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // one throwaway PostgreSQL per run for the PostgreSQL store's tests (ETDI_TEST_DATABASE_URL: use that server)
    globalSetup: ['test/support/postgres-global-setup.ts'],
  },
});
