// Waits for a count to reach its target, giving up only when it stops moving: a loaded 2-core
// machine may be slow, and a total timeout would fail a run that is merely slow.

/**
 * Resolves once `count()` returns `target` or more.
 * @throws Error naming `what` when the count has not changed for `noProgressMs`.
 */
export async function waitForCount(
  what: string,
  count: () => number | Promise<number>,
  target: number,
  { pollMs = 100, noProgressMs = 60_000 } = {},
): Promise<void> {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const now = await count();
    if (now >= target) return;
    if (now !== last) {
      last = now;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > noProgressMs) {
      throw new Error(
        `${what}: stuck at ${now} of ${target} for ${noProgressMs / 1000} s; see the process lines above.`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
