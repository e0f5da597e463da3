import {
  type InMemoryTransport,
  type OutgoingMessage,
  readDeadLetterReason,
  type Transport,
} from '@eda/core';
import { describe, expect, it } from 'vitest';
import { createEmbeddedInfrastructure } from '../src/infrastructure.js';
import { countLedger, type createInMemoryLedger, ORDER_END_STATE } from '../src/ledger.js';
import { runOrderFlow } from '../src/order-flow.js';
import { StockReceived, StockReserved } from '../src/services/stock.js';
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

  it('the workflow monitor sees the first order completed, and draws it as a sequence diagram', async () => {
    const infra = createEmbeddedInfrastructure();
    try {
      const { monitored } = await runOrderFlow(infra);
      expect(monitored?.state).toBe('completed');
      const diagram = monitored?.diagram ?? '';
      // Lifeline ids to service names, then each arrow as "from->to: type".
      const names = new Map(
        [...diagram.matchAll(/^ {2}participant (s\d+) as (.+)$/gm)].map((m) => [m[1], m[2]]),
      );
      const arrows = [...diagram.matchAll(/^ {2}(s\d+)(->>|--\)|-x)(s\d+): (.+)$/gm)].map(
        (m) => `${names.get(m[1])}${m[2]}${names.get(m[3])}: ${m[4]}`,
      );
      expect(arrows).toEqual(
        expect.arrayContaining([
          'payments->>inventory: payment.completed',
          'payments->>billing: payment.completed',
          'inventory->>shipping: ship.order',
          'shipping->>notifications: order.shipped',
          'billing->>notifications: invoice.issued',
          'payments--)inventory: payment.completed (duplicate-skipped)',
        ]),
      );
      // The poison payment is a flow of its own, which the monitor reports failed (dead letters).
      expect(diagram).not.toContain('dead-lettered');
      expect((await infra.audit?.monitor.flow('poison-1'))?.summary.state).toBe('failed');
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

  it('keeps the stock as internal events: none reaches the transport, a smaller event versioned by the stream does', async () => {
    const embedded = createEmbeddedInfrastructure();
    // Everything any service or the relay hands to the transport.
    const wire: OutgoingMessage[] = [];
    const transport = embedded.transport as Transport;
    const infra = {
      ...embedded,
      transport: {
        ...transport,
        publish: (messages: readonly OutgoingMessage[]) => {
          wire.push(...messages);
          return transport.publish(messages);
        },
        send: (messages: readonly OutgoingMessage[]) => {
          wire.push(...messages);
          return transport.send(messages);
        },
      },
    };
    try {
      const report = await runOrderFlow(infra);
      const types = new Set(wire.map((m) => m.attributes.type));
      expect(types.has(StockReceived.type)).toBe(false);
      expect(types.has(StockReserved.type)).toBe(false);
      // Each stream version has exactly one availability event, with that version and the
      // availability after it; nothing about orders or restocks.
      const availability = wire
        .filter((m) => m.attributes.type === 'inventory.stock-availability-changed')
        .map((m) => ({
          subject: m.attributes.subject,
          version: m.attributes.version,
          data: JSON.parse(new TextDecoder().decode(m.body)) as unknown,
        }))
        .sort((a, b) => `${a.subject} ${a.version}`.localeCompare(`${b.subject} ${b.version}`));
      expect(availability).toEqual([
        { subject: 'kettle', version: 1, data: { sku: 'kettle', available: 10 } },
        { subject: 'kettle', version: 2, data: { sku: 'kettle', available: 9 } },
        { subject: 'mug', version: 1, data: { sku: 'mug', available: 100 } },
        { subject: 'mug', version: 2, data: { sku: 'mug', available: 98 } },
        { subject: 'mug', version: 3, data: { sku: 'mug', available: 97 } },
        { subject: 'spoon', version: 1, data: { sku: 'spoon', available: 60 } },
        { subject: 'spoon', version: 2, data: { sku: 'spoon', available: 54 } },
      ]);
      // The streams hold the domain events those versions came from, the duplicate not twice.
      expect(
        report.stockStreams.map(({ sku, events }) => [sku, events.map((e) => e.type)]),
      ).toEqual([
        ['mug', ['stock.received', 'stock.reserved', 'stock.reserved']],
        ['kettle', ['stock.received', 'stock.reserved']],
        ['spoon', ['stock.received', 'stock.reserved']],
      ]);
    } finally {
      await infra.close();
    }
  });
});
