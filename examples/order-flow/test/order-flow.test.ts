import { type InMemoryTransport, readDeadLetterReason } from '@eda/core';
import { describe, expect, it } from 'vitest';
import { createEmbeddedInfrastructure } from '../src/infrastructure.js';
import { countLedger, type createInMemoryLedger, ORDER_END_STATE } from '../src/ledger.js';
import { runOrderFlow } from '../src/order-flow.js';
import { expectOrderFlowOutcome } from './expect-order-flow.js';

describe('order flow on embedded infrastructure', () => {
  it('ships and invoices every order once, skips the duplicate, dead-letters the poison message', async () => {
    const infra = createEmbeddedInfrastructure();
    try {
      const report = await runOrderFlow(infra);
      expectOrderFlowOutcome(report);
      // Every effect recorded once per order, the duplicate delivery included.
      const { entries } = infra.ledger as ReturnType<typeof createInMemoryLedger>;
      const counts = countLedger(entries);
      expect([...counts.keys()].sort()).toEqual(['order-1001', 'order-1002', 'order-1003']);
      for (const steps of counts.values()) expect(steps).toEqual(ORDER_END_STATE);
      // The transport holds them, with the reason in headers.
      const transport = infra.transport as InMemoryTransport;
      for (const subscription of ['inventory', 'billing']) {
        const letters = transport.broker.deadLetters(subscription);
        expect(letters.map((l) => readDeadLetterReason(l.headers)?.code)).toEqual(['EDA_DECODE']);
      }
    } finally {
      await infra.close();
    }
  });

  it('sends the invoices by claim check: the message on the transport stays under 2 KB', async () => {
    const infra = createEmbeddedInfrastructure();
    try {
      await runOrderFlow(infra);
      const transport = infra.transport as InMemoryTransport;
      const invoices = transport.broker.topic('invoice.issued').partitions.flat();
      expect(invoices).toHaveLength(3);
      for (const record of invoices) {
        const wireBytes = record.body.byteLength + JSON.stringify(record.headers).length;
        expect(wireBytes).toBeLessThan(2048);
        expect(record.headers.ce_dataref).toMatch(/sha256=[0-9a-f]{64}/);
      }
    } finally {
      await infra.close();
    }
  });
});
