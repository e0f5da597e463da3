// `on(definition, handler)`: binds a typed handler to a message definition.
import type { DeliveryOrigin } from '../contracts/transport.js';
import type { Envelope } from '../envelope.js';
import type { MessageDefinition, OutputOf, Upcaster } from '../message-definition.js';
import { refuseDomainEvent } from '../publisher/refuse-domain-event.js';

/** A received message whose data has been decoded, upcast and validated. */
export interface ReceivedMessage<TData> extends Envelope<TData> {
  readonly data: TData;
}

/** What a handler knows about the delivery besides the message. */
export interface HandlerContext {
  /** 1 on first delivery; counts redeliveries. */
  readonly attempt: number;
  readonly subscription: string;
  readonly origin: DeliveryOrigin;
}

/** A typed message handler. Throwing fails the delivery; it is retried by policy, then dead-lettered. */
export type MessageHandler<D extends MessageDefinition> = (
  message: ReceivedMessage<OutputOf<D>>,
  context: HandlerContext,
) => Promise<void> | void;

/** How duplicates of a message are recognised. */
export type DedupeMode =
  /** By `source` + `id`: the same message delivered again is skipped. */
  | 'message-id'
  /** By entity (`subject`, else `partitionkey`) and `version`: only newer versions of the entity are applied. */
  | 'entity-version'
  /** No dedupe for this handler. */
  | 'none';

/** Per-handler options. */
export interface HandlerOptions {
  /** @default 'message-id' when the bus has an idempotency store */
  readonly dedupe?: DedupeMode;
  /**
   * Upcasters this consumer adds, keyed by the version they read; they take precedence over the
   * definition's own. Lets a consumer read versions its owner no longer upcasts.
   */
  readonly upcasters?: Readonly<Record<number, Upcaster>>;
}

/** A handler bound to its definition. */
export interface HandlerRegistration<D extends MessageDefinition = MessageDefinition> {
  readonly definition: D;
  readonly handler: MessageHandler<D>;
  readonly dedupe: DedupeMode;
  readonly upcasters: Readonly<Record<number, Upcaster>>;
}

/** Binds `handler` to messages of `definition`. */
export function on<D extends MessageDefinition>(
  definition: D,
  handler: MessageHandler<D>,
  options: HandlerOptions = {},
): HandlerRegistration<D> {
  refuseDomainEvent(definition, 'on');
  return {
    definition,
    handler,
    dedupe: options.dedupe ?? 'message-id',
    upcasters: options.upcasters ?? {},
  };
}
