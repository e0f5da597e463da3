// Contract setups over core's in-memory implementations, shared by the memory and the
// broken-variant tests.
import {
  createInMemoryBroker,
  createInMemoryDeadLetterAdmin,
  createInMemoryEventStore,
  createInMemoryIdempotencyStore,
  createInMemoryOutboxStore,
  createInMemoryPayloadStore,
  createInMemoryTransport,
  type DeadLetterAdmin,
  type EventStore,
  type IdempotencyStore,
  type InMemoryBroker,
  type InMemoryOutboxStore,
  type InMemoryPayloadStore,
  type InMemoryTransaction,
  type InMemoryTransport,
  type OutboxStore,
  type PayloadStore,
  type Transport,
} from '@eda/core';
import { fromBinaryHeaders, inMemoryCapabilities } from '@eda/core/adapter';
import { createInMemoryMonitorStore, type MonitorStore } from '@eda/workflow-monitor';
import type {
  EventStoreContractSetup,
  IdempotencyContractSetup,
  MonitorStoreContractSetup,
  OutboxContractSetup,
  PayloadContractSetup,
  TransportContractSetup,
} from '../src/index.js';

/** Idle timeout for in-memory runs: nothing in memory is legitimately silent this long. */
export const MEMORY_IDLE_MS = 1000;

/**
 * The in-memory transport: one broker per environment, clients that share it, `kill()` as the
 * crash hook and `broker.restart()` as the restart hook. `wrap` turns each client into a variant.
 */
export function memoryTransportSetup(
  wrap: (transport: InMemoryTransport) => Transport = (transport) => transport,
  deadLetterAdmin: (broker: InMemoryBroker) => DeadLetterAdmin = createInMemoryDeadLetterAdmin,
): TransportContractSetup {
  return {
    capabilities: inMemoryCapabilities,
    hooks: ['killClient', 'restartBroker', 'connectWithSharedDestination', 'deadLetterAdmin'],
    idleMs: MEMORY_IDLE_MS,
    async createEnvironment() {
      const broker = createInMemoryBroker();
      const clients = new Map<Transport, InMemoryTransport>();
      const connect = (options: { topicFor?: (type: string) => string } = {}) => {
        const inner = createInMemoryTransport({
          broker,
          ...(options.topicFor ? { topicFor: options.topicFor, queueFor: options.topicFor } : {}),
        });
        const client = wrap(inner);
        clients.set(client, inner);
        return client;
      };
      return {
        connect: async () => connect(),
        async connectWithSharedDestination(types) {
          const shared = types[0]!;
          return connect({ topicFor: (type) => (types.includes(type) ? shared : type) });
        },
        async deadLetters(subscription) {
          return broker.deadLetters(subscription).map((d) => ({
            headers: d.headers,
            attributes: fromBinaryHeaders(d.headers),
            body: d.body,
          }));
        },
        async killClient(transport) {
          const inner = clients.get(transport);
          if (!inner)
            throw new Error('killClient got a transport this environment did not connect.');
          inner.kill();
        },
        async restartBroker() {
          broker.restart();
        },
        deadLetterAdmin: async () => deadLetterAdmin(broker),
        async cleanup() {
          broker.close();
        },
      };
    },
  };
}

/** Core's in-memory outbox store; `otherStore` is the same store (one process has one "database"). */
export function memoryOutboxSetup(
  wrap: (store: InMemoryOutboxStore) => OutboxStore<InMemoryTransaction> = (store) => store,
): OutboxContractSetup<InMemoryTransaction> {
  return {
    capabilities: {
      concurrentRelays: true,
      orderedPerAggregate: true,
      notifications: true,
      persistent: false,
    },
    hooks: ['otherStore'],
    idleMs: MEMORY_IDLE_MS,
    async createEnvironment() {
      const inner = createInMemoryOutboxStore();
      const store = wrap(inner);
      return {
        store,
        async begin() {
          const transaction = inner.begin();
          return {
            transaction,
            commit: async () => transaction.commit(),
            rollback: async () => transaction.rollback(),
          };
        },
        otherStore: async () => store,
        async cleanup() {},
      };
    },
  };
}

/** Core's in-memory idempotency store (not persistent, so it has no restart hook). */
export function memoryIdempotencySetup(
  wrap: (store: IdempotencyStore) => IdempotencyStore = (store) => store,
): IdempotencyContractSetup {
  return {
    capabilities: { leases: true, versionGuard: true, retention: true, persistent: false },
    idleMs: MEMORY_IDLE_MS,
    async createEnvironment() {
      return { store: wrap(createInMemoryIdempotencyStore()), async cleanup() {} };
    },
  };
}

/** Core's in-memory payload store; `alter` flips a stored byte, forgeries reach other prefixes. */
export function memoryPayloadSetup(
  wrap: (store: InMemoryPayloadStore) => PayloadStore = (store) => store,
): PayloadContractSetup {
  return {
    capabilities: { persistent: false },
    idleMs: MEMORY_IDLE_MS,
    async createEnvironment() {
      const inner = createInMemoryPayloadStore({
        bucket: 'contract',
        prefix: 'tenant-a/payloads/',
      });
      return {
        store: wrap(inner),
        async alter(ref) {
          const bytes = inner.objects.get(ref.key);
          if (!bytes) throw new Error(`No stored object at ${ref.key} to alter.`);
          const altered = bytes.slice();
          altered[0] = (altered[0] ?? 0) ^ 0xff;
          inner.objects.set(ref.key, altered);
        },
        forgedRefs(valid) {
          // Objects an unchecked read would find: the same bytes under another tenant's prefix.
          const otherKey = valid.key.replace('tenant-a/', 'tenant-b/');
          inner.objects.set(otherKey, inner.objects.get(valid.key)!);
          return [
            { ...valid, key: otherKey },
            { ...valid, key: `tenant-a/payloads/../../${otherKey}` },
            { ...valid, key: 'tenant-a/other/secret' },
            { ...valid, key: `memory://contract/${valid.key}` },
          ];
        },
        async cleanup() {
          inner.objects.clear();
        },
      };
    },
  };
}

/**
 * The in-memory event store over an in-memory outbox that shares its transactions (one store
 * pair per environment). `wrap` turns the store into a variant.
 */
export function memoryEventStoreSetup(
  wrap: (store: EventStore<InMemoryTransaction>) => EventStore<InMemoryTransaction> = (store) =>
    store,
): EventStoreContractSetup<InMemoryTransaction> {
  return {
    capabilities: { persistent: false },
    idleMs: MEMORY_IDLE_MS,
    async createEnvironment() {
      const outbox = createInMemoryOutboxStore();
      return {
        store: wrap(createInMemoryEventStore({ outbox })),
        outbox,
        cleanup: async () => undefined,
      };
    },
  };
}

/**
 * The in-memory monitor store of `@eda/workflow-monitor`: its data lives in the object, so
 * `open()` (a second or restarted monitor) returns the same store. `wrap` turns it into a variant.
 */
export function memoryMonitorStoreSetup(
  wrap: (store: MonitorStore) => MonitorStore = (store) => store,
): MonitorStoreContractSetup {
  return {
    capabilities: { persistent: false },
    idleMs: MEMORY_IDLE_MS,
    async createEnvironment() {
      const store = wrap(createInMemoryMonitorStore());
      return { store, open: async () => store, async cleanup() {} };
    },
  };
}
