// Names no other case run uses: suites add them to message types, services and subscriptions,
// so a leftover from an earlier run or a parallel case never reaches this one.
import { randomBytes } from 'node:crypto';

/** Returns a function that appends one random suffix (shared by the whole run) to labels. */
export function createNamer(): (label: string) => string {
  const suffix = `${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
  return (label) => `${label}-${suffix}`;
}
