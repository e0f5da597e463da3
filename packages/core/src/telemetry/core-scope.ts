// The instrumentation scope of @eda/core's own spans and metrics: its package name and version.
import { createRequire } from 'node:module';
import type { InstrumentationScope } from './instruments.js';

// Read at run time from the package's own package.json (src/ and dist/ sit at the same depth),
// so the version in traces is the installed one, not a copy that a release forgets to bump.
const { name, version } = createRequire(import.meta.url)('../../package.json') as {
  name: string;
  version: string;
};

/** `@eda/core` and its version. */
export const CORE_SCOPE: InstrumentationScope = { name, version };
