// Runs the order flow end to end on the given infrastructure: three paid orders, one duplicate
// delivery injected (harmless: stock is reserved once), one poison message injected
// (dead-lettered with its reason), and returns what happened, per order.
import { createOutboxRelay, type WorkflowStep } from '@eda/core';
import { sequenceDiagram } from '@eda/workflow-monitor';
import type { OrderLine } from './contracts.js';
import type { Infrastructure } from './infrastructure.js';
import { createBillingService } from './services/billing.js';
import { createInventoryService, INITIAL_STOCK } from './services/inventory.js';
import { createNotificationsService } from './services/notifications.js';
import { createPaymentsService } from './services/payments.js';
import { createShippingService } from './services/shipping.js';

export interface OrderFlowReport {
  readonly orders: readonly {
    orderId: string;
    correlationId: string;
    timeline: readonly WorkflowStep[];
  }[];
  /** What can still be ordered of each SKU. */
  readonly stock: Readonly<Record<string, number>>;
  /** Inventory's internal stock streams, event by event: what never left the service. */
  readonly stockStreams: readonly {
    sku: string;
    events: readonly { version: number; type: string; data: unknown }[];
  }[];
  /** Dead-lettered messages, with the service that gave up and the reason it gave. */
  readonly deadLetters: readonly { service: string; reason: string }[];
  readonly notifications: readonly string[];
  readonly stuck: number;
  /** The first order as the workflow monitor saw it: its state and Mermaid sequence diagram. */
  readonly monitored?: { readonly state: string; readonly diagram: string };
}

export const ORDERS: readonly { orderId: string; amountCents: number; lines: OrderLine[] }[] = [
  { orderId: 'order-1001', amountCents: 4_990, lines: [{ sku: 'mug', quantity: 2 }] },
  {
    orderId: 'order-1002',
    amountCents: 12_500,
    lines: [
      { sku: 'kettle', quantity: 1 },
      { sku: 'mug', quantity: 1 },
    ],
  },
  { orderId: 'order-1003', amountCents: 990, lines: [{ sku: 'spoon', quantity: 6 }] },
];

async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Order flow timed out waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A flow as the monitor holds it, once every record reported so far reached it. */
async function monitoredFlow(
  { reporter, monitor }: NonNullable<Infrastructure['audit']>,
  correlationId: string,
) {
  await reporter.flush();
  const view = await monitor.flow(correlationId);
  if (!view) throw new Error(`The workflow monitor has no flow ${correlationId}.`);
  return { state: view.summary.state, diagram: sequenceDiagram(view.timeline) };
}

export async function runOrderFlow(infra: Infrastructure): Promise<OrderFlowReport> {
  const { transport } = infra;
  if (!transport)
    throw new Error('runOrderFlow runs every service in this process: give it a transport.');
  const payments = createPaymentsService(infra);
  const inventory = createInventoryService(infra);
  const shipping = createShippingService(infra);
  const billing = createBillingService(infra);
  const notifications = createNotificationsService(infra);
  await Promise.all([inventory.start(), shipping.start(), billing.start(), notifications.start()]);
  const relay = createOutboxRelay({
    store: infra.outbox,
    transport,
    pollIntervalMs: 50,
    // Outbox messages reach the monitor as published only once the relay published them.
    ...(infra.relayObservers ? { observers: infra.relayObservers } : {}),
  });
  relay.start();

  try {
    for (const order of ORDERS)
      await payments.completePayment(order.orderId, order.amountCents, order.lines);
    const correlationOf = new Map(
      payments.written.map((m) => [m.attributes.subject!, m.attributes.correlationid!]),
    );
    const timelineOf = (orderId: string) => infra.tracker.timeline(correlationOf.get(orderId)!);

    // A duplicate on the wire, as a relay that crashed before marking its batch would cause.
    await waitUntil(
      () =>
        timelineOf('order-1001').some((s) => s.action === 'handled' && s.service === 'inventory'),
      'the first payment to be handled',
    );
    await transport.publish([payments.written[0]!]);

    // A poison message: valid attributes, a body that is not JSON.
    await transport.publish([
      {
        attributes: {
          id: 'poison-1',
          type: 'payment.completed',
          source: 'payments',
          specversion: '1.0',
          kind: 'event',
          datacontenttype: 'application/json',
          correlationid: 'poison-1',
        },
        body: new TextEncoder().encode('{"orderId": "order-9999", "amountCents": '),
      },
    ]);

    const done = (orderId: string) =>
      ['order.shipped', 'invoice.issued'].every((type) =>
        timelineOf(orderId).some((s) => s.type === type && s.action === 'handled'),
      );
    await waitUntil(
      () => ORDERS.every((o) => done(o.orderId)),
      'every order to ship and be invoiced',
    );
    const poisonDeadLetters = () =>
      infra.tracker.timeline('poison-1').filter((s) => s.action === 'dead-lettered');
    await waitUntil(
      () => poisonDeadLetters().length === 2,
      'the poison message to be dead-lettered by inventory and billing',
    );
    await waitUntil(
      () =>
        timelineOf('order-1001').some(
          (s) => s.action === 'duplicate-skipped' && s.service === 'inventory',
        ),
      'the duplicate to be skipped',
    );

    const monitored =
      infra.audit && (await monitoredFlow(infra.audit, correlationOf.get('order-1001')!));
    const deadLetters = poisonDeadLetters().map((s) => ({
      service: s.service,
      reason: s.detail ?? '',
    }));
    return {
      orders: ORDERS.map(({ orderId }) => ({
        orderId,
        correlationId: correlationOf.get(orderId)!,
        timeline: timelineOf(orderId),
      })),
      stock: await inventory.stock.availability(),
      stockStreams: await Promise.all(
        Object.keys(INITIAL_STOCK).map(async (sku) => ({
          sku,
          events: (await inventory.stock.history(sku)).map((e) => ({
            version: e.version,
            type: e.type,
            data: e.data,
          })),
        })),
      ),
      deadLetters,
      notifications: [...notifications.sent],
      stuck: infra.tracker.stuck().length,
      ...(monitored ? { monitored } : {}),
    };
  } finally {
    await relay.stop();
    await Promise.all(
      [payments.bus, inventory.bus, shipping.bus, billing.bus, notifications.bus].map((bus) =>
        bus.close(),
      ),
    );
  }
}
