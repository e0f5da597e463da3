import { type InMemoryTransport, readDeadLetterReason } from '@eda/core';
import { describe, expect, it } from 'vitest';
import { createEmbeddedInfrastructure } from '../src/infrastructure.js';
import { runOrderFlow } from '../src/order-flow.js';

describe('order flow on embedded infrastructure', () => {
  it('ships and invoices every order once, skips the duplicate, dead-letters the poison message', async () => {
    const infra = createEmbeddedInfrastructure();
    try {
      const report = await runOrderFlow(infra);
      expect(report.orders).toHaveLength(3);
      for (const order of report.orders) {
        const handled = order.timeline
          .filter((s) => s.action === 'handled')
          .map((s) => `${s.service}:${s.type}`);
        expect(handled.sort()).toEqual([
          'billing:payment.completed',
          'inventory:payment.completed',
          'notifications:invoice.issued',
          'notifications:order.shipped',
          'shipping:ship.order',
        ]);
      }
      // Stock was reserved once per order although order-1001's payment arrived twice.
      expect(report.stock).toEqual({ mug: 97, kettle: 9, spoon: 54 });
      const duplicate = report.orders[0]!.timeline.filter(
        (s) => s.action === 'duplicate-skipped',
      ).map((s) => s.service);
      expect(duplicate).toContain('inventory');
      expect(report.deadLetters.map((d) => d.service).sort()).toEqual(['billing', 'inventory']);
      expect(
        report.deadLetters.every((d) =>
          d.reason.startsWith('EDA_DECODE: Body of message poison-1'),
        ),
      ).toBe(true);
      // The transport holds them, with the reason in headers.
      const transport = infra.transport as InMemoryTransport;
      for (const subscription of ['inventory', 'billing']) {
        const letters = transport.broker.deadLetters(subscription);
        expect(letters.map((l) => readDeadLetterReason(l.headers)?.code)).toEqual(['EDA_DECODE']);
      }
      expect(
        report.notifications
          .filter((n) => n.startsWith('invoice'))
          .every((n) => n.includes('3.0 MiB')),
      ).toBe(true);
      expect(report.stuck).toBe(0);
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
