// The in-memory transport: both semantics in one process. Events go to a partitioned log
// (topics, consumer groups, committed offsets, replay); commands go to queues (one owner,
// competing consumers, ack, delayed retry, dead-letter). The embedded default.
import { fromBinaryHeaders, toBinaryHeaders } from '../binary-mode.js';
import type {
  Delivery,
  DeliveryHandler,
  DeliveryOrigin,
  OutgoingMessage,
  Subscription,
  Transport,
  TransportCapabilities,
} from '../contracts/transport.js';
import { ClosedError, ConfigurationError } from '../errors.js';
import { CORE_SCOPE } from '../telemetry/core-scope.js';
import { traceHeadersOf } from '../telemetry/creation-context.js';
import { createMessagingTelemetry } from '../telemetry/messaging-telemetry.js';
import { createInMemoryBroker, type InMemoryBroker } from './memory-broker.js';
import type { LogMember, StoredRecord } from './memory-log.js';

/** Options of `createInMemoryTransport`. */
export interface InMemoryTransportOptions {
  /** Shared state; give two transports the same broker to let them talk. @default a new broker */
  readonly broker?: InMemoryBroker;
  /** The topic of an event type. Map related types to one topic to keep their order per key. @default the type name */
  readonly topicFor?: (type: string) => string;
  /** The queue of a command type. @default the type name */
  readonly queueFor?: (type: string) => string;
}

/** The in-memory transport, plus fault hooks for tests. */
export interface InMemoryTransport extends Transport {
  readonly broker: InMemoryBroker;
  /** Simulates this client process dying: its in-flight messages are never settled and are redelivered to other members. */
  kill(): void;
}

/** What the in-memory transport can do: everything but persistence. */
export const inMemoryCapabilities: TransportCapabilities = {
  events: true,
  commands: true,
  orderedPerKey: true,
  consumerGroups: true,
  competingConsumers: true,
  replay: true,
  delayedRetry: true,
  deadLetter: true,
  persistent: false,
};

let memberIds = 0;
const noAttributes = () => ({});

/** `messaging.system` of the in-memory transport (no well-known value applies). */
export const IN_MEMORY_SYSTEM = 'eda_memory';

const telemetry = createMessagingTelemetry(CORE_SCOPE);

function toDelivery(
  record: StoredRecord,
  attempt: number,
  origin: DeliveryOrigin,
  spanAttributes: () => Readonly<Record<string, string>>,
): Delivery {
  return {
    attributes: fromBinaryHeaders(record.headers),
    body: record.body,
    attempt,
    origin,
    system: IN_MEMORY_SYSTEM,
    header: (name) => record.headers[name],
    spanAttributes,
  };
}

function toRecord(message: OutgoingMessage): StoredRecord {
  const traceHeaders = traceHeadersOf(message);
  const headers = toBinaryHeaders(message.attributes);
  return {
    headers: traceHeaders ? { ...headers, ...traceHeaders } : headers,
    body: message.body,
    key: message.attributes.partitionkey,
    timestamp: Date.now(),
  };
}

/**
 * Creates an in-memory transport: events on a partitioned log (consumer groups, committed
 * offsets, replay, order per key), commands on owned queues (competing consumers, delayed retry,
 * dead letters). The embedded default for tests, demos and single-process systems.
 */
export function createInMemoryTransport(options: InMemoryTransportOptions = {}): InMemoryTransport {
  const {
    broker = createInMemoryBroker(),
    topicFor = (type: string) => type,
    queueFor = (type: string) => type,
  } = options;
  const subscriptions = new Map<Subscription, (how: 'graceful' | 'kill') => Promise<void>>();
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new ClosedError('In-memory transport');
  };

  const subscribeEvents = (
    name: string,
    types: readonly string[],
    startAt: 'earliest' | 'latest',
    handler: DeliveryHandler,
  ) => {
    const group = { 'messaging.consumer.group.name': name };
    const member: LogMember = {
      id: ++memberIds,
      deliver: (record, attempt, origin) =>
        handler(toDelivery(record, attempt, origin, () => group)),
    };
    const groups = [...new Set(types.map(topicFor))].map((topic) =>
      broker.group(name, broker.topic(topic), startAt),
    );
    for (const group of groups) group.join(member);
    return async (how: 'graceful' | 'kill') => {
      await Promise.all(groups.map((group) => group.leave(member, how)));
    };
  };

  const subscribeCommands = (
    name: string,
    types: readonly string[],
    prefetch: number,
    handler: DeliveryHandler,
  ) => {
    const queues = [...new Set(types.map(queueFor))].map((queueName) => broker.queue(queueName));
    for (const queue of queues) {
      if (queue.owner !== undefined && queue.owner !== name) {
        throw new ConfigurationError(
          `Queue "${queue.name}" is owned by "${queue.owner}": a command has exactly one owner, so "${name}" cannot consume it.`,
        );
      }
    }
    const attached = queues.map((queue) => {
      queue.owner = name;
      return {
        queue,
        state: queue.attach({
          prefetch,
          deliver: (record, attempt, origin) =>
            handler(toDelivery(record, attempt, origin, noAttributes)),
        }),
      };
    });
    return async (how: 'graceful' | 'kill') => {
      if (how === 'kill') for (const { queue, state } of attached) queue.kill(state);
      else await Promise.all(attached.map(({ queue, state }) => queue.detach(state)));
    };
  };

  const events = {
    system: IN_MEMORY_SYSTEM,
    operationName: 'publish',
    destinationOf: (message: OutgoingMessage) => topicFor(message.attributes.type),
  };
  const commands = {
    system: IN_MEMORY_SYSTEM,
    operationName: 'send',
    destinationOf: (message: OutgoingMessage) => queueFor(message.attributes.type),
  };

  return {
    name: 'memory',
    capabilities: inMemoryCapabilities,
    broker,
    destinationOf: (kind, type) => ({
      system: IN_MEMORY_SYSTEM,
      name: kind === 'event' ? topicFor(type) : queueFor(type),
    }),

    async publish(messages) {
      assertOpen();
      await telemetry.send(events, messages, async () => {
        for (const message of messages)
          broker.topic(topicFor(message.attributes.type)).append(toRecord(message));
      });
    },

    async send(messages) {
      assertOpen();
      await telemetry.send(commands, messages, async () => {
        for (const message of messages)
          broker.queue(queueFor(message.attributes.type)).enqueue(toRecord(message));
      });
    },

    async subscribe(subscribeOptions, handler) {
      assertOpen();
      const { name, kind, types, startAt = 'earliest', concurrency = 1 } = subscribeOptions;
      if (!name)
        throw new ConfigurationError(
          'subscribe() needs a name: the consumer group or queue owner.',
        );
      if (!types.length)
        throw new ConfigurationError(`Subscription "${name}" names no message types.`);
      if (!Number.isSafeInteger(concurrency) || concurrency < 1)
        throw new ConfigurationError(
          `Subscription "${name}" concurrency is ${concurrency}: use an integer >= 1.`,
        );
      const stop =
        kind === 'event'
          ? subscribeEvents(name, types, startAt, handler)
          : subscribeCommands(name, types, concurrency, handler);
      const subscription: Subscription = {
        async close() {
          if (!subscriptions.delete(subscription)) return;
          await stop('graceful');
        },
      };
      subscriptions.set(subscription, stop);
      return subscription;
    },

    kill() {
      closed = true;
      for (const stop of subscriptions.values()) void stop('kill');
      subscriptions.clear();
    },

    async close() {
      closed = true;
      await Promise.all([...subscriptions.keys()].map((s) => s.close()));
    },
  };
}
