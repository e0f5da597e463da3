// Checks that a call fails with a given @eda error code.
import { EdaError } from '@eda/core';

/** Awaits `promise` and returns its @eda error; throws when it resolves or fails with anything else. */
export async function expectEdaError(
  promise: Promise<unknown>,
  code: string,
  what: string,
): Promise<EdaError> {
  let outcome: { value: unknown } | { error: unknown };
  try {
    outcome = { value: await promise };
  } catch (error) {
    outcome = { error };
  }
  if ('value' in outcome) throw new Error(`${what}: expected ${code}, but it succeeded.`);
  const { error } = outcome;
  if (!EdaError.isInstance(error)) {
    throw new Error(`${what}: expected an @eda error with code ${code}, got ${String(error)}.`, {
      cause: error,
    });
  }
  if (error.code !== code) {
    throw new Error(`${what}: expected ${code}, got ${error.code} (${error.message}).`, {
      cause: error,
    });
  }
  return error;
}
