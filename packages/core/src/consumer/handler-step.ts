// The last steps: run the handler inside the message context (correlation, causation, trace),
// then flush what it published or sent. Nothing it emitted leaves if it failed; what it emitted
// has ids derived from the handled message (see handler-emit-id.ts), the same on a redelivery.
import { runInMessageContext } from '../message-context.js';
import { inConsumerSpan } from '../tracing.js';
import type { ConsumeMiddleware } from './consume-context.js';
import type { ReceivedMessage } from './handler-registration.js';
import { createHandlerOutgoing } from './outgoing-buffer.js';

export function handlerStep(): ConsumeMiddleware {
  return async (context) => {
    const envelope = context.envelope!;
    const registration = context.registration!;
    const outgoing = createHandlerOutgoing();
    const { delivery } = context;
    const attributes = {
      'messaging.system': context.system,
      'messaging.consumer.group.name': context.subscription,
      'messaging.message.id': envelope.id,
      ...(envelope.correlationid === undefined
        ? {}
        : { 'messaging.message.conversation_id': envelope.correlationid }),
      ...(delivery.origin.partition === undefined
        ? {}
        : { 'messaging.destination.partition.id': String(delivery.origin.partition) }),
    };
    await inConsumerSpan(
      delivery.origin.destination,
      envelope.traceparent,
      attributes,
      (traceparent) => {
        const messageContext = {
          message: envelope,
          subscription: context.subscription,
          traceparent,
          ...(envelope.tracestate === undefined ? {} : { tracestate: envelope.tracestate }),
          outgoing,
        };
        return runInMessageContext(messageContext, async () => {
          try {
            await registration.handler(envelope as ReceivedMessage<unknown>, {
              attempt: delivery.attempt,
              subscription: context.subscription,
              origin: delivery.origin,
            });
          } finally {
            // Settled: whatever its context emits from now on (a timer it started) goes out
            // directly instead of into a list that is about to be drained or dropped.
            outgoing.close();
          }
        });
      },
    );
    await outgoing.flush();
    context.outcome = 'handled';
  };
}
