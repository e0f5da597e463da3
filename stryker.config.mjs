// Stryker for the core pipeline: how many deliberate bugs (mutants) in these files the unit tests
// catch. Run it through `pnpm test:mutation` (scripts/mutation/run.mjs), never `stryker run`
// directly: it mutates the sources in place and the wrapper checks the tree before and after.

/** The files whose guarantees the mutation score measures; each should stay at 80% or more. */
export const mutatedFiles = [
  'packages/core/src/consumer/idempotency-step.ts',
  'packages/core/src/consumer/delivery-handler.ts',
  'packages/core/src/consumer/handler-step.ts',
  'packages/core/src/consumer/route-step.ts',
  'packages/core/src/consumer/claim-check-step.ts',
  'packages/core/src/outbox/outbox-relay.ts',
  'packages/core/src/outbox/refusal-isolation.ts',
  'packages/core/src/memory/memory-outbox-store.ts',
  'packages/core/src/retry-policy.ts',
  'packages/core/src/publisher/prepare-message.ts',
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'pnpm',
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'scripts/mutation/vitest.config.ts' },
  // pnpm links each workspace package back to its source: a sandbox copy would be bypassed by
  // those links and every mutant would "survive" against the unmutated files. Mutate in place.
  inPlace: true,
  // Stryker's default adds `// @ts-nocheck` to every source and test file, which in place means
  // editing hundreds of tracked files; vitest does not type-check, so there is nothing to disable.
  disableTypeChecks: false,
  coverageAnalysis: 'perTest',
  mutate: mutatedFiles,
  // The machine is shared; override with `--concurrency N` when it is not.
  concurrency: 1,
  // Tests here wait on timers (retry delays, leases); a slow machine must not turn a kill into
  // a timeout, nor a hang into a long wait.
  timeoutMS: 10_000,
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 80, low: 60, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
