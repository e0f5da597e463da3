// Topic naming: the one place that turns message types and subscription names into topic
// names, and rejects names Kafka would refuse before any request is made.
import { ConfigurationError } from '@eda/core';

const LEGAL = /^[a-zA-Z0-9._-]{1,249}$/;

/**
 * Checks a topic name against Kafka's rules (letters, digits, `.`, `_`, `-`; at most 249).
 * @throws ConfigurationError naming the topic and what produced it.
 */
export function assertTopicName(topic: string, producedBy: string): string {
  if (!LEGAL.test(topic) || topic === '.' || topic === '..') {
    throw new ConfigurationError(
      `Kafka transport: ${producedBy} gave topic name "${topic}", which Kafka refuses: use 1 to 249 characters from a-z, A-Z, 0-9, ".", "_" and "-" (set topicFor / deadLetterTopicFor / retryTopicFor to map names).`,
    );
  }
  return topic;
}

/** The default topic of an event type: the prefix followed by the type name. */
export function defaultTopicFor(prefix: string): (type: string) => string {
  return (type) => `${prefix}${type}`;
}

/** The default dead-letter topic of a subscription (consumer group): `<prefix><group>.dlq`. */
export function defaultDeadLetterTopicFor(prefix: string): (subscription: string) => string {
  return (subscription) => `${prefix}${subscription}.dlq`;
}

/** The default retry topic of a subscription and tier (1-based): `<prefix><group>.retry.<tier>`. */
export function defaultRetryTopicFor(
  prefix: string,
): (subscription: string, tier: number) => string {
  return (subscription, tier) => `${prefix}${subscription}.retry.${tier}`;
}

/** `deadLetterTopicFor` whose every answer is checked against Kafka's rules. */
export function checkedDeadLetterTopicFor(
  deadLetterTopicFor: (subscription: string) => string,
): (subscription: string) => string {
  return (subscription) =>
    assertTopicName(deadLetterTopicFor(subscription), `deadLetterTopicFor("${subscription}")`);
}
