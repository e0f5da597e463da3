// Notifications: tells the customer about shipping and invoices. It reads the invoice through
// the claim check (fetched and verified before the handler runs).
import { createBus, on } from '@eda/core';
import { InvoiceIssued, OrderShipped } from '../contracts.js';
import { type Infrastructure, serviceBusOptions, subscribeOptions } from '../infrastructure.js';

export function createNotificationsService(infra: Infrastructure) {
  const bus = createBus({
    ...serviceBusOptions(infra, 'notifications'),
    ...infra.dedupe,
    claimCheck: { store: infra.payloads },
  });
  const sent: string[] = [];
  const notify = (orderId: string, effect: string, line: string) =>
    infra.ledger.record({ service: 'notifications', orderId, effect }).then(() => {
      sent.push(line);
    });
  return {
    bus,
    sent,
    start: () =>
      bus.subscribe({
        ...subscribeOptions(infra),
        handlers: [
          on(OrderShipped, ({ data }) =>
            notify(
              data.orderId,
              'notified-shipped',
              `order ${data.orderId} shipped, tracking ${data.trackingNumber}`,
            ),
          ),
          on(InvoiceIssued, ({ data }) => {
            const bytes = Buffer.from(data.documentBase64, 'base64').byteLength;
            return notify(
              data.orderId,
              'notified-invoice',
              `invoice for ${data.orderId} attached (${(bytes / 1024 / 1024).toFixed(1)} MiB)`,
            );
          }),
        ],
      }),
  };
}
