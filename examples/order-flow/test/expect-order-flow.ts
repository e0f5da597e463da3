// What every run of the order flow must show, whatever infrastructure it ran on.
import { expect } from 'vitest';
import type { OrderFlowReport } from '../src/order-flow.js';

export function expectOrderFlowOutcome(report: OrderFlowReport): void {
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
    expect(order.timeline[0]).toMatchObject({
      service: 'payments',
      action: 'published',
      detail: 'via outbox',
    });
  }
  // Stock was reserved once per order although order-1001's payment arrived twice.
  expect(report.stock).toEqual({ mug: 97, kettle: 9, spoon: 54 });
  expect(
    report.orders[0]!.timeline.some(
      (s) => s.action === 'duplicate-skipped' && s.service === 'inventory',
    ),
  ).toBe(true);
  expect(report.deadLetters.map((d) => d.service).sort()).toEqual(['billing', 'inventory']);
  expect(
    report.deadLetters.every((d) => d.reason.startsWith('EDA_DECODE: Body of message poison-1')),
  ).toBe(true);
  const invoices = report.notifications.filter((n) => n.startsWith('invoice'));
  expect(invoices).toHaveLength(3);
  expect(invoices.every((n) => n.includes('3.0 MiB'))).toBe(true);
  expect(report.stuck).toBe(0);
}
