// The same order flow on the real services: Kafka 4.x events, RabbitMQ commands, PostgreSQL
// outbox, Redis dedupe and S3 claim check, configured by real-infrastructure.ts only.
import { describe, it } from 'vitest';
import { deleteNamespace } from '../src/delete-namespace.js';
import { runOrderFlow } from '../src/order-flow.js';
import { createRealInfrastructure } from '../src/real-infrastructure.js';
import { expectOrderFlowOutcome } from './expect-order-flow.js';

describe('order flow on real infrastructure', () => {
  it('ships and invoices every order once, skips the duplicate, dead-letters the poison message', async () => {
    // A namespace of its own, so earlier runs' topics, queues and tables do not interfere.
    const namespace = `order-flow-test-${Date.now().toString(36)}`;
    const infra = await createRealInfrastructure({ namespace });
    try {
      const report = await runOrderFlow(infra);
      expectOrderFlowOutcome(report);
    } finally {
      await infra.close();
      await deleteNamespace(namespace);
    }
  });
});
