// Headers a record carries through the retry topics: which delivery comes next, when it is due,
// and where the record was first read (dead-letter headers then name the original topic).
import { DEAD_LETTER_HEADERS } from '@eda/core/adapter';

export const RETRY_HEADERS = {
  /** The attempt number of the next delivery (2 for the first retry). */
  attempt: 'x-eda-attempt',
  /** Epoch milliseconds before which the record must not be delivered again. */
  due: 'x-eda-retry-due',
  /** The retry reason of the last failed delivery. */
  reason: 'x-eda-retry-reason',
  destination: DEAD_LETTER_HEADERS.destination,
  partition: DEAD_LETTER_HEADERS.partition,
  offset: DEAD_LETTER_HEADERS.offset,
} as const;

/** What a record read from a retry topic says about itself; undefined for a first delivery. */
export interface RetryState {
  readonly attempt: number;
  readonly dueAt: number;
  readonly destination: string;
  readonly partition: number | undefined;
  readonly offset: string | undefined;
}

/** Reads the retry headers; malformed ones count as a first delivery from the retry topic itself. */
export function readRetryState(headers: Readonly<Record<string, string>>): RetryState | undefined {
  const attempt = Number(headers[RETRY_HEADERS.attempt]);
  const destination = headers[RETRY_HEADERS.destination];
  if (!Number.isSafeInteger(attempt) || attempt < 1 || !destination) return undefined;
  const dueAt = Number(headers[RETRY_HEADERS.due]);
  const partition = Number(headers[RETRY_HEADERS.partition]);
  return {
    attempt,
    dueAt: Number.isFinite(dueAt) ? dueAt : 0,
    destination,
    partition: Number.isSafeInteger(partition) ? partition : undefined,
    offset: headers[RETRY_HEADERS.offset],
  };
}

/** Headers of internal bookkeeping, removed before a record is copied again. */
export const INTERNAL_HEADER_NAMES: ReadonlySet<string> = new Set([
  ...Object.values(RETRY_HEADERS),
  ...Object.values(DEAD_LETTER_HEADERS),
]);
