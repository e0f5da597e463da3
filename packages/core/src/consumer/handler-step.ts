// The last steps: run the handler inside the message context (correlation, causation, trace;
// the process span around the whole pipeline is opened by the delivery handler),
// then flush what it published or sent. Nothing it emitted leaves if it failed; what it emitted
// has ids derived from the handled message (see handler-emit-id.ts), the same on a redelivery.
import { runInMessageContext } from '../message-context.js';
import { childTraceparent } from '../trace-context.js';
import type { ConsumeMiddleware } from './consume-context.js';
import type { ReceivedMessage } from './handler-registration.js';
import { createHandlerOutgoing } from './outgoing-buffer.js';

export function handlerStep(): ConsumeMiddleware {
  return async (context) => {
    const envelope = context.envelope!;
    const registration = context.registration!;
    const outgoing = createHandlerOutgoing();
    const { delivery } = context;
    // Set by the delivery handler from its process span; a pipeline built without one (unit
    // tests of this step) continues the message's own trace.
    const traceparent = context.traceparent ?? childTraceparent(envelope.traceparent);
    const messageContext = {
      message: envelope,
      subscription: context.subscription,
      traceparent,
      ...(envelope.tracestate === undefined ? {} : { tracestate: envelope.tracestate }),
      outgoing,
    };
    await runInMessageContext(messageContext, async () => {
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
    await outgoing.flush();
    context.outcome = 'handled';
  };
}
