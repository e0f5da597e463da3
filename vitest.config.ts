import { defineConfig } from 'vitest/config';

// One vitest run covers every package. "unit" needs no service; "services" talks to the real
// brokers, databases and object stores that `pnpm services:up` starts.
const shared = {
  resolve: { conditions: ['development'] },
  ssr: { resolve: { conditions: ['development'] } },
};

export default defineConfig({
  test: {
    projects: [
      {
        ...shared,
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
          exclude: ['**/*.services.test.ts', '**/node_modules/**'],
          testTimeout: 30_000,
        },
      },
      {
        ...shared,
        test: {
          name: 'services',
          include: [
            'packages/*/test/**/*.services.test.ts',
            'examples/*/test/**/*.services.test.ts',
          ],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
