import { defineConfig } from 'vitest/config';

export default defineConfig({
  // `@etdi/*` resolves to each package's TypeScript sources (its `etdi-source` export condition):
  // the tests run the code as written, never a stale dist/.
  resolve: { conditions: ['etdi-source'] },
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/dist/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
