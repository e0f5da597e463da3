// Builds the pieces the services run on. Services receive this object and never construct
// infrastructure themselves, so moving the example to Kafka, RabbitMQ, PostgreSQL, Redis and
// S3 is a change of configuration here, not of service code.
import {
  createInMemoryIdempotencyStore,
  createInMemoryOutboxStore,
  createInMemoryPayloadStore,
  createInMemoryTransport,
  createWorkflowTracker,
  type IdempotencyStore,
  type InMemoryOutboxStore,
  type PayloadStore,
  type Transport,
  type WorkflowTracker,
} from '@eda/core';

export interface Infrastructure {
  readonly transport: Transport;
  readonly outbox: InMemoryOutboxStore;
  readonly idempotency: IdempotencyStore;
  readonly payloads: PayloadStore;
  readonly tracker: WorkflowTracker;
  /** Dead letters of a subscription, for the demo's report. */
  deadLetters(subscription: string): readonly { headers: Readonly<Record<string, string>> }[];
  close(): Promise<void>;
}

/** Embedded (in-memory) defaults: no service needed. */
export function createEmbeddedInfrastructure(): Infrastructure {
  const transport = createInMemoryTransport();
  return {
    transport,
    outbox: createInMemoryOutboxStore(),
    idempotency: createInMemoryIdempotencyStore(),
    payloads: createInMemoryPayloadStore(),
    tracker: createWorkflowTracker({
      workflows: [
        {
          name: 'order',
          startsWith: 'payment.completed',
          endsWith: ['order.shipped', 'invoice.issued'],
          deadlineMs: 10_000,
        },
      ],
    }),
    deadLetters: (subscription) => transport.broker.deadLetters(subscription),
    async close() {
      await transport.close();
      transport.broker.close();
    },
  };
}
