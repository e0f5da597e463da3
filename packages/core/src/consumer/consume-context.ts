// The state a delivery carries through the consumer pipeline, and the middleware shape.
import type { Delivery } from '../contracts/transport.js';
import type { Envelope } from '../envelope.js';
import type { HandlerRegistration } from './handler-registration.js';

/** What happened to a delivery that was settled with `ack`. */
export type ConsumeOutcome = 'handled' | 'duplicate' | 'stale' | 'ignored';

/** One delivery's way through the pipeline. Middleware read and fill it. */
export interface ConsumeContext {
  readonly delivery: Delivery;
  readonly subscription: string;
  /** `messaging.system` of the transport that carried the delivery. */
  readonly system: string;
  /** Trace context of the delivery's `process` span: what the handler's messages continue. */
  readonly traceparent?: string;
  /** Set by the decode step. */
  envelope: Envelope | undefined;
  /** Set by the routing step: the handler registered for the message type. */
  registration: HandlerRegistration | undefined;
  /** Set by whichever step settled the message without error. */
  outcome: ConsumeOutcome | undefined;
}

/** A consumer middleware: does its part and calls `next` to continue, or returns to stop. Throwing fails the delivery (retry or dead-letter by policy). */
export type ConsumeMiddleware = (
  context: ConsumeContext,
  next: () => Promise<void>,
) => Promise<void>;

/** Runs middleware in order; each one's `next` runs the rest. */
export function composeMiddleware(
  middleware: readonly ConsumeMiddleware[],
): (context: ConsumeContext) => Promise<void> {
  return (context) => {
    const run = (index: number): Promise<void> => {
      const current = middleware[index];
      if (!current) return Promise.resolve();
      let called = false;
      return current(context, () => {
        if (called)
          return Promise.reject(new Error(`Consumer middleware #${index} called next() twice.`));
        called = true;
        return run(index + 1);
      });
    };
    return run(0);
  };
}
