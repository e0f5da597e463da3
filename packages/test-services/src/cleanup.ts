// Every resource a `useXxx` helper creates is listed here until it is cleaned up, so one
// `afterEach(cleanupServices)` removes whatever a test made, even when the test failed.

/** Something a test created that can be removed again. */
export interface Cleanable {
  /** Removes what was created. Safe to call more than once; later calls do nothing. */
  cleanup(): Promise<void>;
}

const pending = new Set<Cleanable>();

/**
 * Wraps a removal function into a {@link Cleanable} that is listed for {@link cleanupServices}
 * until it runs. Used by the helpers; tests rarely need it.
 */
export function registerCleanup(remove: () => Promise<void>): Cleanable {
  let done: Promise<void> | undefined;
  const item: Cleanable = {
    cleanup() {
      pending.delete(item);
      done ??= remove();
      return done;
    },
  };
  pending.add(item);
  return item;
}

/**
 * Cleans up every resource still listed, newest first. Meant for `afterEach(cleanupServices)`.
 *
 * @throws AggregateError naming every removal that failed, after trying all of them.
 */
export async function cleanupServices(): Promise<void> {
  const errors: unknown[] = [];
  for (const item of [...pending].reverse()) {
    try {
      await item.cleanup();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0)
    throw new AggregateError(errors, 'cleanupServices: some test resources could not be removed');
}
