// Headers of a redriven message. A redrive must reach only the subscription that dead-lettered
// the message: on a log (Kafka), writing it back to the topic would deliver it to every consumer
// group again, so the copy names its subscription and every other one skips it (consumer/
// redrive-step.ts). The copy drops the reason headers: it starts over, and if it fails again it
// is dead-lettered with a new reason.
import { DEAD_LETTER_HEADERS } from './dead-letter-headers.js';

/** Names of the headers a redriven copy carries (`x-eda-redrive-for` and the rest). */
export const REDRIVE_HEADERS = {
  /** The only subscription that handles the copy. */
  for: 'x-eda-redrive-for',
  /** The dead letter it was redriven from (its handle). */
  of: 'x-eda-redrive-of',
  /** When it was redriven (ISO 8601). */
  at: 'x-eda-redriven-at',
} as const;

const DROPPED: ReadonlySet<string> = new Set([
  ...Object.values(DEAD_LETTER_HEADERS),
  ...Object.values(REDRIVE_HEADERS),
]);

/**
 * The headers of a dead letter's redriven copy: its own headers without the dead-letter and
 * redrive bookkeeping (and without `alsoDrop`, the transport's own, such as a retry attempt),
 * plus the redrive headers.
 */
export function redriveHeaders(
  headers: Readonly<Record<string, string>>,
  subscription: string,
  handle: string,
  alsoDrop: ReadonlySet<string> = new Set(),
  now = new Date(),
): Record<string, string> {
  const kept = Object.entries(headers).filter(
    ([name]) => !DROPPED.has(name) && !alsoDrop.has(name),
  );
  return {
    ...Object.fromEntries(kept),
    [REDRIVE_HEADERS.for]: subscription,
    [REDRIVE_HEADERS.of]: handle,
    [REDRIVE_HEADERS.at]: now.toISOString(),
  };
}
