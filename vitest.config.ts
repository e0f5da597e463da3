import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vitest/config';

// One vitest run covers every package. "unit" needs no service; "services" talks to the real
// brokers, databases and object stores that `pnpm services:up` starts.
const shared = {
  resolve: { conditions: ['development'] },
  ssr: { resolve: { conditions: ['development'] } },
};

// The contract suites once more against what is published, built (its global setup builds).
// Vitest adds the `development` condition to every environment whatever `resolve.conditions`
// says, so this plugin resolves instead: a published package's name to the entry its packed
// package.json names (publishConfig.exports), and a test's relative import of its own package's
// src (`../src/index.js`) to the same file in dist.
const packagesDir = resolve(import.meta.dirname, 'packages');
const publishedEntries = new Map(
  readdirSync(packagesDir).flatMap((folder) => {
    const manifest = JSON.parse(readFileSync(join(packagesDir, folder, 'package.json'), 'utf8'));
    const entry = manifest.publishConfig?.exports?.['.']?.default;
    return manifest.private || !entry ? [] : [[manifest.name, join(packagesDir, folder, entry)]];
  }),
);
const builtOutput: Plugin = {
  name: 'eda-resolve-built-output',
  enforce: 'pre',
  resolveId(source, importer) {
    const entry = publishedEntries.get(source);
    if (entry) return mustExist(entry);
    // Only a test file's own relative imports: src files never load here, and test-services
    // (private, src only) keeps its own.
    if (!importer || !source.startsWith('.') || !/\/packages\/[^/]+\/test\//.test(importer))
      return null;
    const match = /^(.*\/packages\/[^/]+)\/src\/(.+)\.(?:js|ts)$/.exec(
      resolve(dirname(importer), source),
    );
    return match ? mustExist(`${match[1]}/dist/${match[2]}.js`) : null;
  },
};
function mustExist(file: string): string {
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`pnpm build\` first`);
  return file;
}

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
      {
        plugins: [builtOutput],
        test: {
          name: 'dist',
          globalSetup: ['packages/test-suite/test/build-packages.global-setup.ts'],
          // The in-memory contracts and the adapter contracts that take seconds (about 55 s
          // together on two cores). Kafka's and RabbitMQ's restart their brokers and take minutes:
          // run them here too if CI time allows (issue 15's note).
          include: [
            'packages/test-suite/test/memory.test.ts',
            'packages/postgres-outbox/test/contract.services.test.ts',
            'packages/postgres-outbox/test/event-store-contract.services.test.ts',
            'packages/redis-dedupe/test/contract.services.test.ts',
            'packages/s3-claimcheck/test/contract.services.test.ts',
          ],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
