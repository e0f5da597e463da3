// What the services run on. Services receive this object and never construct infrastructure
// themselves, so moving the example from the embedded defaults to Kafka, RabbitMQ, PostgreSQL,
// Redis and S3 is a change of configuration (see real-infrastructure.ts), not of service code.
import {
  createInMemoryIdempotencyStore,
  createInMemoryOutboxStore,
  createInMemoryPayloadStore,
  createInMemoryTransport,
  createWorkflowTracker,
  type IdempotencyStore,
  type OutboxStore,
  type PayloadStore,
  type Transport,
  type WorkflowTracker,
} from '@eda/core';

export interface Infrastructure {
  /** A name for the report, such as "embedded (in-memory)". */
  readonly description: string;
  readonly transport: Transport;
  readonly outbox: OutboxStore<unknown>;
  /** Runs `fn` in a database transaction of the outbox's store, committed if it resolves. */
  transaction<T>(fn: (transaction: unknown) => Promise<T>): Promise<T>;
  readonly idempotency: IdempotencyStore;
  readonly payloads: PayloadStore;
  readonly tracker: WorkflowTracker;
  close(): Promise<void>;
}

/** The order workflow the tracker watches. */
export function createOrderTracker(): WorkflowTracker {
  return createWorkflowTracker({
    workflows: [
      {
        name: 'order',
        startsWith: 'payment.completed',
        endsWith: ['order.shipped', 'invoice.issued'],
        deadlineMs: 10_000,
      },
    ],
  });
}

/** Embedded (in-memory) defaults: no service needed. */
export function createEmbeddedInfrastructure(): Infrastructure {
  const transport = createInMemoryTransport();
  const outbox = createInMemoryOutboxStore();
  return {
    description: 'embedded (in-memory)',
    transport,
    outbox: outbox as OutboxStore<unknown>,
    transaction: (fn) => outbox.transaction(fn),
    idempotency: createInMemoryIdempotencyStore(),
    payloads: createInMemoryPayloadStore(),
    tracker: createOrderTracker(),
    async close() {
      await transport.close();
      transport.broker.close();
    },
  };
}
