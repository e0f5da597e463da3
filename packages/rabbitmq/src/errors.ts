// Errors this adapter adds to core's set: each one names the adapter and says what to do.
import { EdaError } from '@eda/core';

/**
 * RabbitMQ returned a `mandatory` message because no queue was bound for it: a command whose
 * owning service never subscribed (so its queue does not exist yet), or an event published with
 * `mandatoryEvents` that no subscription is bound to. Nothing was stored. Retryable: once the
 * owner has subscribed, the same message will be routed.
 */
export class UnroutableMessageError extends EdaError {
  /** The exchange the message was published to (`''` is the default exchange). */
  readonly exchange: string;
  /** The routing key that matched no queue. */
  readonly routingKey: string;

  constructor(exchange: string, routingKey: string, replyText: string) {
    super(
      'EDA_UNROUTABLE',
      `RabbitMQ transport: message to ${exchange ? `exchange "${exchange}"` : 'the default exchange'} with routing key "${routingKey}" was returned (${replyText}): no queue is bound for it. Start the owning service's subscription first (it declares the queue), or check queueFor.`,
      { retryable: true },
    );
    this.exchange = exchange;
    this.routingKey = routingKey;
  }
}
