import { defineConfig } from 'vitest/config';

// The vitest set-up Stryker runs for `pnpm test:mutation`: the unit tests only (no broker,
// database or object store), as one flat project because Stryker maps coverage per test.
// Keep include/exclude in step with the "unit" project in the root vitest.config.ts.
export default defineConfig({
  resolve: { conditions: ['development'] },
  ssr: { resolve: { conditions: ['development'] } },
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    // The pack test builds and packs every package: no source line of a mutant runs in it.
    exclude: ['**/*.services.test.ts', '**/node_modules/**', '**/packed-packages.test.ts'],
    testTimeout: 30_000,
  },
});
