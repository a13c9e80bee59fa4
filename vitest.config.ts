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
  },
});
