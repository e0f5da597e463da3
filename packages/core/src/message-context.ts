// The context of the message being handled, carried through async calls with
// AsyncLocalStorage, so that whatever a handler publishes or sends inherits the workflow's
// correlation id, gets the handled message as its cause, and continues its trace.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Envelope } from './envelope.js';

/** Messages a handler published or sent, held back until the handler has succeeded. */
export interface OutgoingBuffer {
  /** Queues a flush step; steps run in order after the handler succeeded, and never if it failed. */
  add(flush: () => Promise<void>): void;
}

/** What a handler's outgoing messages inherit. */
export interface MessageContext {
  /** The message being handled. */
  readonly message: Envelope;
  /** The handling subscription. */
  readonly subscription: string;
  /** Trace context of the processing span, parent of anything published from here. */
  readonly traceparent: string;
  readonly tracestate?: string;
  /** Where publishes and sends made during handling wait for the handler's success. */
  readonly outgoing: OutgoingBuffer;
}

const storage = new AsyncLocalStorage<MessageContext>();

/** Runs `fn` with `context` as the current message context. */
export function runInMessageContext<T>(context: MessageContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The message context of the current async call chain, if a handler is running. */
export function currentMessageContext(): MessageContext | undefined {
  return storage.getStore();
}
