// The last steps: run the handler inside the message context (correlation, causation, trace),
// then flush what it published or sent. Nothing it emitted leaves if it failed.
import { runInMessageContext } from '../message-context.js';
import { inConsumerSpan } from '../tracing.js';
import type { ConsumeMiddleware } from './consume-context.js';
import type { ReceivedMessage } from './handler-registration.js';

export function handlerStep(): ConsumeMiddleware {
  return async (context) => {
    const envelope = context.envelope!;
    const registration = context.registration!;
    const flushes: Array<() => Promise<void>> = [];
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
          outgoing: { add: (flush: () => Promise<void>) => void flushes.push(flush) },
        };
        return runInMessageContext(messageContext, async () => {
          await registration.handler(envelope as ReceivedMessage<unknown>, {
            attempt: delivery.attempt,
            subscription: context.subscription,
            origin: delivery.origin,
          });
        });
      },
    );
    // Flush outside the handler's context so the flush itself is not buffered again.
    for (const flush of flushes) await flush();
    context.outcome = 'handled';
  };
}
