// Redis dedupe cannot commit with the handler's effect, so a consumer that dies, or loses its
// Redis connection, after the effect and before the completion reaches Redis has the effect
// applied again once the lease ends (redis-dedupe README). The crash run holds the Redis variant
// to that window: every doubled effect must have its first row written shortly before a fault
// that hit a process of the effect's service (a SIGKILL of it, or a drop of the Redis
// connections). A second way: a PostgreSQL backend ended after the effect's COMMIT reached the
// server and before the client heard it: the handler sees an error, the retry applies the effect
// again (`commit`). (A handler whose publish failed after its effect, a broker restarting, was a
// third, until the handlers wrote what they publish to the outbox in the effect's transaction.)
// A double that no fault explains is a defect.
import type { FaultMoment } from './fault-driver.js';
import type { Doubled } from './ledger-check.js';

export interface AttributedDouble extends Doubled {
  /** The fault that explains it, and how long after the first row it hit. */
  readonly fault?: string;
  readonly kind?: FaultMoment['kind'];
  readonly gapMs?: number;
}

export interface DoublesInWindow {
  readonly explained: readonly AttributedDouble[];
  readonly unexplained: readonly AttributedDouble[];
  /** The longest gap from an effect to the fault that cut its completion short. */
  readonly maxGapMs: number;
}

/**
 * Splits the doubles into those inside the documented window (first row written at most
 * `windowMs` before a fault that hit the effect's service) and the rest.
 * @param windowMs - from the effect's row to its completion: the rest of the handler (the flush of
 *   what it publishes) and the completion call (bounded by the store's 2 s timeout).
 */
export function attributeDoubles(
  doubled: readonly Doubled[],
  timeline: readonly FaultMoment[],
  windowMs = 10_000,
): DoublesInWindow {
  const explained: AttributedDouble[] = [];
  const unexplained: AttributedDouble[] = [];
  let maxGapMs = 0;
  for (const double of doubled) {
    const service = double.step.split(':')[0] as string;
    const at = double.firstAt;
    // The row's time comes from PostgreSQL, the fault's from this process: same machine clock;
    // 100 ms of slack for the fault being noted after its command returned.
    const cause =
      at === undefined
        ? undefined
        : timeline.find(
            (m) =>
              m.services.includes(service) &&
              (m.until ?? m.at) + 100 >= at &&
              m.at - windowMs <= at,
          );
    if (!cause || at === undefined) {
      unexplained.push(double);
      continue;
    }
    const gapMs = Math.max(0, cause.at - at);
    maxGapMs = Math.max(maxGapMs, gapMs);
    explained.push({ ...double, fault: cause.fault, kind: cause.kind, gapMs });
  }
  return { explained, unexplained, maxGapMs };
}
