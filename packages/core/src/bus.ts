// The bus: what a service uses. It publishes events, sends commands (directly, or through the
// outbox inside the caller's transaction) and subscribes typed handlers, composing the
// publisher and consumer pipelines over one transport.
import { type Codecs, createCodecs } from './codec.js';
import type { ConsumeMiddleware } from './consumer/consume-context.js';
import { createDeliveryHandler } from './consumer/delivery-handler.js';
import type { HandlerRegistration } from './consumer/handler-registration.js';
import type { IdempotencyOptions } from './consumer/idempotency-step.js';
import type { UnhandledPolicy } from './consumer/route-step.js';
import type { OutboxStore } from './contracts/outbox-store.js';
import type { OutgoingMessage, Subscription, Transport } from './contracts/transport.js';
import type { MessageKind } from './envelope.js';
import { CapabilityError, ClosedError, ConfigurationError, OwnershipError } from './errors.js';
import { handlerEmitId } from './handler-emit-id.js';
import { currentMessageContext } from './message-context.js';
import type {
  CommandDefinition,
  EventDefinition,
  InputOf,
  MessageDefinition,
} from './message-definition.js';
import { type BusObserver, notifyAll } from './observer.js';
import {
  type ClaimCheckOptions,
  claimCheckOffload,
  type PublishMiddleware,
} from './publisher/claim-check-offload.js';
import { type MessageOptions, prepareMessage } from './publisher/prepare-message.js';
import { refuseDomainEvent } from './publisher/refuse-domain-event.js';
import { createRetryPolicy, type RetryPolicyOptions } from './retry-policy.js';
import type { ProcessSpanParent } from './tracing.js';

/** Options of `createBus`. */
export interface BusOptions<TTransaction = never> {
  /** This service's (boundary's) name: the `source` of what it emits and the owner it checks. */
  readonly service: string;
  /**
   * Where messages are published, sent and consumed. A writer that only emits with
   * `{ transaction }` (into the outbox, published later by a relay) may leave it out; it then
   * needs `outbox`, and `publish`/`send` without a transaction or `subscribe` throw a
   * ConfigurationError.
   */
  readonly transport?: Transport;
  /** Where `publish`/`send` with a `transaction` write. */
  readonly outbox?: OutboxStore<TTransaction>;
  /** Offload large bodies to a payload store (and resolve references when consuming). */
  readonly claimCheck?: ClaimCheckOptions;
  /** Dedupe consumed messages. */
  readonly idempotency?: IdempotencyOptions;
  /** Retry policy of every subscription. */
  readonly retry?: RetryPolicyOptions;
  /** Data codecs; the first one encodes what this bus emits. @default JSON, then raw bytes */
  readonly codecs?: Codecs;
  /** Consumer middleware around every handler (after decode, claim check, routing and dedupe). */
  readonly middleware?: readonly ConsumeMiddleware[];
  /** Publisher middleware, run after the claim check. */
  readonly publishMiddleware?: readonly PublishMiddleware[];
  /** Told about every message published, consumed, retried or dead-lettered. */
  readonly observers?: readonly BusObserver[];
  /** OpenTelemetry tracing choices (spans are recorded only when an SDK is registered). */
  readonly tracing?: TracingOptions;
}

/** Options of `BusOptions.tracing`. */
export interface TracingOptions {
  /**
   * The parent of each `process` span. `'ambient'`, the semantic conventions' default: the
   * context active where the transport runs the pipeline (usually none, so each delivery
   * starts a trace), linked to the message's creation context. `'producer'`: the creation
   * context itself, so one trace runs from the first message through every handler, which
   * trace viewers without span links (Zipkin) need to show a workflow as one tree; the link is
   * kept.
   * @default 'ambient'
   */
  readonly parent?: ProcessSpanParent;
}

/** Per-call options of `publish` and `send`. */
export interface EmitOptions<TTransaction> extends MessageOptions {
  /** Write to the outbox inside this transaction instead of the transport: the message exists if and only if the transaction commits. */
  readonly transaction?: TTransaction;
}

/** Options of `subscribe`. */
export interface SubscribeHandlersOptions {
  /** Consumer group / queue owner name. @default the bus's service name */
  readonly name?: string;
  /** Handlers created with `on(definition, handler)`, one per message type. */
  readonly handlers: readonly HandlerRegistration[];
  /** Messages of other types arriving here. @default 'dead-letter' */
  readonly unhandled?: UnhandledPolicy;
  /** Deliveries handled at once (per-key order is kept). @default 1 */
  readonly concurrency?: number;
  /**
   * Deliveries taken from the transport at once, at least `concurrency`. Above it, the next
   * messages are decoded and claimed (dedupe) while `concurrency` handlers run, so the claim's
   * round trip to the idempotency store overlaps other handlers instead of holding a handler
   * slot; the extra messages wait in this process, unavailable to other consumers, until a
   * slot frees. A dedupe lease starts at the claim, so the wait for a slot counts against the
   * idempotency `leaseMs`: keep it above that wait plus your slowest handler. @default concurrency
   */
  readonly prefetch?: number;
  /** Where a new consumer group starts. @default 'earliest' */
  readonly startAt?: 'earliest' | 'latest';
}

/** A service's handle on the messaging system. */
export interface Bus<TTransaction = never> {
  readonly service: string;
  /**
   * Publishes an event this service owns. Inside a handler the event is held back until the
   * handler succeeds; with `transaction` it goes to the outbox.
   * @throws OwnershipError when another service owns the event; ValidationError for invalid data.
   */
  publish<D extends EventDefinition<unknown, unknown>>(
    definition: D,
    data: InputOf<D>,
    options?: EmitOptions<TTransaction>,
  ): Promise<void>;
  /**
   * Sends a command to the one service that owns it, with the same buffering and outbox rules as `publish`.
   * @throws CapabilityError when the transport cannot give commands a single owner.
   */
  send<D extends CommandDefinition<unknown, unknown>>(
    definition: D,
    data: InputOf<D>,
    options?: EmitOptions<TTransaction>,
  ): Promise<void>;
  /**
   * Starts handling messages. Events: a consumer group per `name`. Commands: only the owner of a
   * command may handle it.
   * @throws OwnershipError, ConfigurationError or CapabilityError at start-up.
   */
  subscribe(options: SubscribeHandlersOptions): Promise<Subscription>;
  /** Closes this bus's subscriptions (the transport stays open: its owner closes it). */
  close(): Promise<void>;
}

/**
 * Creates a service's bus: `publish` events it owns, `send` commands, `subscribe` handlers.
 * The bus does not own the transport (close the transport yourself after `bus.close()`).
 * @throws ConfigurationError without a `service` name or a `transport`.
 */
export function createBus<TTransaction = never>(
  options: BusOptions<TTransaction>,
): Bus<TTransaction> {
  const {
    service,
    transport,
    outbox,
    claimCheck,
    idempotency,
    middleware,
    observers = [],
  } = options;
  if (!service)
    throw new ConfigurationError(
      'createBus needs a service name: it becomes the source of every message.',
    );
  if (!transport && !outbox)
    throw new ConfigurationError(
      'createBus needs a transport, for example createInMemoryTransport(), or (for a writer that only emits with { transaction }) an outbox store.',
    );
  // Span names follow the destinations the transport writes to. A bus without a transport
  // writes only to the outbox, and the relay's transport is not known here: it names the type.
  const destinationOf = (kind: MessageKind, type: string) =>
    transport?.destinationOf?.(kind, type) ?? { system: transport?.name ?? 'outbox', name: type };
  const requireTransport = (what: string): Transport => {
    if (transport) return transport;
    throw new ConfigurationError(
      `The bus of "${service}" has no transport, so it cannot ${what}: give it a transport, or write to the outbox with { transaction } and let a relay publish.`,
    );
  };
  const codecs = options.codecs ?? createCodecs();
  const retryPolicy = createRetryPolicy(options.retry);
  const publishSteps = [
    ...(claimCheck ? [claimCheckOffload(claimCheck)] : []),
    ...(options.publishMiddleware ?? []),
  ];
  const subscriptions = new Set<Subscription>();
  let closed = false;

  const published = (messages: readonly OutgoingMessage[]) => {
    for (const message of messages)
      notifyAll(observers, {
        kind: 'published',
        service,
        message: message.attributes,
        via: 'transport',
      });
  };
  // One function per kind: a handler's held-back messages are flushed in one call per kind.
  const publishNow = async (messages: readonly OutgoingMessage[]) => {
    await requireTransport('publish without a transaction').publish(messages);
    published(messages);
  };
  const sendNow = async (messages: readonly OutgoingMessage[]) => {
    await requireTransport('send without a transaction').send(messages);
    published(messages);
  };

  const emit = async (
    kind: MessageKind,
    definition: MessageDefinition,
    data: unknown,
    emitOptions: EmitOptions<TTransaction> = {},
  ) => {
    if (closed) throw new ClosedError(`Bus of "${service}"`);
    // Taken before any await, so positions follow the handler's calls (see handler-emit-id.ts).
    // Every emit of a running handler takes one, the ones written to its transaction too: a
    // transaction that committed but whose acknowledgment was lost (the connection cut at
    // COMMIT) fails the handler, and its re-run must write the same ids again, or downstream
    // message-id dedupe sees new messages and applies them a second time.
    const handling = currentMessageContext();
    const during = handling?.outgoing.open ? handling : undefined;
    const position = during?.outgoing.reserve();
    const holdBack = emitOptions.transaction === undefined ? during : undefined;
    refuseDomainEvent(definition, kind === 'event' ? 'publish' : 'send');
    if (definition.kind !== kind) {
      throw new ConfigurationError(
        `"${definition.type}" is ${definition.kind === 'event' ? 'an event' : 'a command'}: use ${definition.kind === 'event' ? 'publish' : 'send'}().`,
      );
    }
    if (kind === 'event' && definition.owner !== service) {
      throw new OwnershipError(
        `"${definition.type}" is owned by "${definition.owner}": only that service publishes it, "${service}" may subscribe to it.`,
      );
    }
    // Without a transport the command goes to the outbox; the relay's transport decides.
    if (kind === 'command' && transport && !transport.capabilities.commands) {
      throw new CapabilityError(
        `The ${transport.name} transport cannot give command "${definition.type}" a single owner: send commands over a queue transport such as @eda/rabbitmq.`,
      );
    }
    const { transaction, ...messageOptions } = emitOptions;
    // A handler's message gets an id derived from the handled message and its position, so a
    // redelivery that runs the handler again emits the same ids (downstream dedupe sees them).
    const id =
      messageOptions.id ??
      (during && position !== undefined
        ? handlerEmitId(during.message.source, during.message.id, during.subscription, position)
        : undefined);
    let message: OutgoingMessage = await prepareMessage(
      service,
      destinationOf(kind, definition.type),
      codecs.default,
      definition,
      data,
      id === undefined ? messageOptions : { ...messageOptions, id },
    );
    for (const step of publishSteps) {
      const stepped = step(message);
      message = stepped instanceof Promise ? await stepped : stepped;
    }
    if (transaction !== undefined) {
      if (!outbox)
        throw new ConfigurationError(
          `A transaction was given for "${definition.type}" but the bus of "${service}" has no outbox store.`,
        );
      await outbox.add(transaction, [message]);
      notifyAll(observers, {
        kind: 'published',
        service,
        message: message.attributes,
        via: 'outbox',
      });
      return;
    }
    const deliver = kind === 'event' ? publishNow : sendNow;
    if (holdBack && position !== undefined) holdBack.outgoing.add(position, { message, deliver });
    else await deliver([message]);
  };

  const subscribeKind = async (
    transport: Transport,
    kind: MessageKind,
    registrations: HandlerRegistration[],
    subscribeOptions: SubscribeHandlersOptions,
  ) => {
    const name = subscribeOptions.name ?? service;
    const { concurrency, prefetch } = subscribeOptions;
    // More deliveries than handler slots: the transport delivers `prefetch`, the pipeline runs
    // `concurrency` handlers (see handler-slots-step.ts).
    const handlerSlots =
      prefetch !== undefined && prefetch > (concurrency ?? 1) ? (concurrency ?? 1) : undefined;
    const handler = createDeliveryHandler({
      service,
      subscription: name,
      system: transport.name,
      tracingParent: options.tracing?.parent,
      registrations: new Map(registrations.map((r) => [r.definition.type, r])),
      unhandled: subscribeOptions.unhandled ?? 'dead-letter',
      codecs,
      retryPolicy,
      payloadStore: claimCheck?.store,
      maxPayloadBytes: claimCheck?.maxBytes ?? 100 * 1024 * 1024,
      idempotency,
      middleware,
      handlerSlots,
      observers,
    });
    const inFlight = handlerSlots === undefined ? concurrency : prefetch;
    return transport.subscribe(
      {
        name,
        kind,
        types: registrations.map((r) => r.definition.type),
        ...(subscribeOptions.startAt === undefined ? {} : { startAt: subscribeOptions.startAt }),
        ...(inFlight === undefined ? {} : { concurrency: inFlight }),
      },
      handler,
    );
  };

  return {
    service,
    publish: (definition, data, emitOptions) => emit('event', definition, data, emitOptions),
    send: (definition, data, emitOptions) => emit('command', definition, data, emitOptions),

    async subscribe(subscribeOptions) {
      if (closed) throw new ClosedError(`Bus of "${service}"`);
      const transport = requireTransport('subscribe');
      const { handlers } = subscribeOptions;
      if (!handlers?.length)
        throw new ConfigurationError(
          `subscribe() of "${service}" needs at least one handler: handlers: [on(Definition, handler)].`,
        );
      const { concurrency = 1, prefetch } = subscribeOptions;
      if (prefetch !== undefined && (!Number.isSafeInteger(prefetch) || prefetch < concurrency)) {
        throw new ConfigurationError(
          `subscribe() of "${service}": prefetch is ${prefetch}: use an integer >= concurrency (${concurrency}), the deliveries taken at once of which concurrency run their handler.`,
        );
      }
      const seen = new Set<string>();
      for (const { definition } of handlers) {
        if (seen.has(definition.type))
          throw new ConfigurationError(
            `subscribe() of "${service}" has two handlers for "${definition.type}": register one per type.`,
          );
        seen.add(definition.type);
        if (definition.kind === 'command' && definition.owner !== service) {
          throw new OwnershipError(
            `Command "${definition.type}" is owned by "${definition.owner}": only that service handles it; "${service}" may send it.`,
          );
        }
      }
      const events = handlers.filter((h) => h.definition.kind === 'event');
      const commands = handlers.filter((h) => h.definition.kind === 'command');
      if (commands.length && !transport.capabilities.commands) {
        throw new CapabilityError(
          `The ${transport.name} transport cannot give commands a single owner, so "${service}" cannot handle ${commands.map((c) => c.definition.type).join(', ')} over it.`,
        );
      }
      const parts: Subscription[] = [];
      try {
        if (events.length)
          parts.push(await subscribeKind(transport, 'event', events, subscribeOptions));
        if (commands.length)
          parts.push(await subscribeKind(transport, 'command', commands, subscribeOptions));
      } catch (error) {
        await Promise.all(parts.map((p) => p.close()));
        throw error;
      }
      const subscription: Subscription = {
        async close() {
          subscriptions.delete(subscription);
          await Promise.all(parts.map((p) => p.close()));
        },
      };
      subscriptions.add(subscription);
      return subscription;
    },

    async close() {
      closed = true;
      await Promise.all([...subscriptions].map((s) => s.close()));
    },
  };
}
