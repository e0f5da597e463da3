// Waits on a condition instead of sleeping a fixed time.

/**
 * Resolves once `condition` holds; rejects naming `what` after `idleMs` in which `progress`
 * (when given, such as a count of records the monitor took) did not change. On a busy machine
 * work goes on slowly: the wait fails on a stall, not on a total time.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  progress: () => unknown = () => undefined,
  idleMs = 5000,
): Promise<void> {
  let seen = progress();
  let deadline = Date.now() + idleMs;
  while (!(await condition())) {
    const now = progress();
    if (now !== seen) [seen, deadline] = [now, Date.now() + idleMs];
    else if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
