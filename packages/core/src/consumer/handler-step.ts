// The last steps: run the handler inside the message context (correlation, causation, trace),
// then flush what it published or sent. Nothing it emitted leaves if it failed.
import { runInMessageContext } from '../message-context.js';
import { childTraceparent } from '../trace-context.js';
import type { ConsumeMiddleware } from './consume-context.js';
import type { ReceivedMessage } from './handler-registration.js';

export function handlerStep(): ConsumeMiddleware {
  return async (context) => {
    const envelope = context.envelope!;
    const registration = context.registration!;
    const flushes: Array<() => Promise<void>> = [];
    const messageContext = {
      message: envelope,
      subscription: context.subscription,
      traceparent: childTraceparent(envelope.traceparent),
      ...(envelope.tracestate === undefined ? {} : { tracestate: envelope.tracestate }),
      outgoing: { add: (flush: () => Promise<void>) => void flushes.push(flush) },
    };
    const { delivery } = context;
    await runInMessageContext(messageContext, () =>
      registration.handler(envelope as ReceivedMessage<unknown>, {
        attempt: delivery.attempt,
        subscription: context.subscription,
        origin: delivery.origin,
      }),
    );
    // Flush outside the handler's context so the flush itself is not buffered again.
    for (const flush of flushes) await flush();
    context.outcome = 'handled';
  };
}
