// Shared by the relay's refusal tests: events keyed by order id, a broker that refuses whole
// requests holding a refused id, and how to read an outbox row back.
import {
  createBus,
  createInMemoryTransport,
  defineEvent,
  type InMemoryOutboxStore,
  type OutgoingMessage,
  type Transport,
} from '../src/index.js';

export const OrderPlaced = defineEvent<{ orderId: string }>({
  type: 'order.placed',
  owner: 'orders',
});

export const orderIdOf = (message: OutgoingMessage) =>
  (JSON.parse(new TextDecoder().decode(message.body)) as { orderId: string }).orderId;

/**
 * A broker that refuses any request holding a refused order id, as a broker refuses a whole
 * request. Every call after the first takes `laterCallsMs` (a broker slowing down), so a test can
 * place the lease deadline between calls. Commands go the same way as events.
 */
export function refusingBroker(refuse: (orderId: string) => boolean, laterCallsMs = 0) {
  const published: string[] = [];
  const calls: string[][] = [];
  const transport: Transport = {
    ...createInMemoryTransport(),
    name: 'test-broker',
    async publish(messages) {
      const ids = messages.map(orderIdOf);
      calls.push(ids);
      if (laterCallsMs > 0 && calls.length > 1)
        await new Promise((resolve) => setTimeout(resolve, laterCallsMs));
      if (ids.some(refuse)) throw new TypeError(`message too large (${ids.join(',')})`);
      published.push(...ids);
    },
    async send(messages) {
      await transport.publish(messages);
    },
  };
  return { transport, published, calls };
}

/** Writes events in one transaction; a key of `undefined` writes no partition key. */
export async function write(store: InMemoryOutboxStore, records: readonly [string, string?][]) {
  const bus = createBus({ service: 'orders', transport: createInMemoryTransport(), outbox: store });
  await store.transaction(async (transaction) => {
    for (const [orderId, partitionKey] of records)
      await bus.publish(
        OrderPlaced,
        { orderId },
        partitionKey === undefined ? { transaction } : { transaction, partitionKey },
      );
  });
}

export const rowOf = (store: InMemoryOutboxStore, orderId: string) => {
  const row = store.rows().find((r) => orderIdOf(r.message) === orderId);
  if (!row) throw new Error(`no outbox row for ${orderId}`);
  return row;
};
