// The headers every adapter writes on a dead-lettered message, so that tools and the contract
// suites read the reason the same way on any broker.
import type { DeadLetterReason, DeliveryOrigin } from './contracts/transport.js';

/** Names of the headers that carry a dead letter's reason (`x-eda-error-code` and the rest). */
export const DEAD_LETTER_HEADERS = {
  code: 'x-eda-error-code',
  errorType: 'x-eda-error-type',
  message: 'x-eda-error-message',
  attempts: 'x-eda-attempts',
  subscription: 'x-eda-subscription',
  destination: 'x-eda-original-destination',
  partition: 'x-eda-original-partition',
  offset: 'x-eda-original-offset',
  failedAt: 'x-eda-failed-at',
} as const;

/** Header values describing why and where a message was dead-lettered. */
export function deadLetterHeaders(
  reason: DeadLetterReason,
  origin: DeliveryOrigin,
  now = new Date(),
): Record<string, string> {
  const h = DEAD_LETTER_HEADERS;
  return {
    [h.code]: reason.code,
    [h.errorType]: reason.errorType,
    // Bounded so a huge error message cannot make the dead letter itself too large to store.
    [h.message]: reason.message.slice(0, 4000),
    [h.attempts]: String(reason.attempts),
    [h.subscription]: reason.subscription,
    [h.destination]: origin.destination,
    ...(origin.partition === undefined ? {} : { [h.partition]: String(origin.partition) }),
    ...(origin.offset === undefined ? {} : { [h.offset]: origin.offset }),
    [h.failedAt]: now.toISOString(),
  };
}

/** The reason read back from dead-letter headers (undefined when they are absent). */
export function readDeadLetterReason(
  headers: Readonly<Record<string, string | undefined>>,
): (DeadLetterReason & { destination: string }) | undefined {
  const h = DEAD_LETTER_HEADERS;
  const code = headers[h.code];
  if (code === undefined) return undefined;
  return {
    code,
    errorType: headers[h.errorType] ?? '',
    message: headers[h.message] ?? '',
    attempts: Number(headers[h.attempts] ?? 0),
    subscription: headers[h.subscription] ?? '',
    destination: headers[h.destination] ?? '',
  };
}
