// The context of the message being handled, carried through async calls with
// AsyncLocalStorage, so that whatever a handler publishes or sends inherits the workflow's
// correlation id, gets the handled message as its cause, and continues its trace.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { OutgoingMessage } from './contracts/transport.js';
import type { Envelope } from './envelope.js';

/** A message held back until the handler has succeeded. */
export interface HeldMessage {
  readonly message: OutgoingMessage;
  /**
   * Sends a batch of held messages. The flush groups held messages by this function (one per
   * kind, such as the bus's publish and its send) and calls it once per group, in position order.
   */
  readonly deliver: (messages: readonly OutgoingMessage[]) => Promise<void>;
}

/** Messages a handler published or sent, held back until the handler has succeeded. */
export interface OutgoingBuffer {
  /**
   * True while the handler runs. Once it has settled the buffer is drained (or dropped): an emit
   * from the handler's async context after that (a timer, an emitter) goes out directly.
   */
  readonly open: boolean;
  /**
   * Takes the next position, in call order. Call it synchronously when an emit starts, so
   * positions follow the handler's calls however long each message takes to prepare.
   */
  reserve(): number;
  /** Holds a prepared message at its position; held messages leave after the handler succeeded, never if it failed. */
  add(position: number, held: HeldMessage): void;
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
