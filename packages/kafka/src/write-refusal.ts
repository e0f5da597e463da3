// Tells a write the broker will never accept (too large, missing topic, not authorized) from one
// that may succeed when tried again (a broker restart, a leader move, a timeout).
import type { WriteRefusal } from './transport-events.js';

const REFUSALS: Readonly<Record<string, WriteRefusal>> = {
  MESSAGE_TOO_LARGE: 'too-large',
  RECORD_LIST_TOO_LARGE: 'too-large',
  UNKNOWN_TOPIC_OR_PARTITION: 'missing-topic',
  INVALID_TOPIC_EXCEPTION: 'missing-topic',
  TOPIC_AUTHORIZATION_FAILED: 'not-authorized',
  CLUSTER_AUTHORIZATION_FAILED: 'not-authorized',
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 'not-authorized',
  INVALID_RECORD: 'invalid-record',
};

/**
 * The permanent refusal behind a failed write, if any. kafkajs wraps the broker's error (in
 * retries-exceeded errors, aggregate errors, and our own UnavailableError), so the whole
 * `cause` / `errors` tree is searched.
 */
export function refusalOf(error: unknown): WriteRefusal | undefined {
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  while (pending.length) {
    const next = pending.pop();
    if (next === null || typeof next !== 'object' || seen.has(next)) continue;
    seen.add(next);
    const { type, name, cause, errors } = next as {
      type?: unknown;
      name?: unknown;
      cause?: unknown;
      errors?: unknown;
    };
    if (typeof type === 'string' && REFUSALS[type]) return REFUSALS[type];
    // kafkajs's producer gives up on a topic it finds no metadata for with this error.
    if (name === 'KafkaJSTopicMetadataNotLoaded') return 'missing-topic';
    pending.push(cause);
    if (Array.isArray(errors)) pending.push(...errors);
  }
  return undefined;
}
