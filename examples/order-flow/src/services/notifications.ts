// Notifications: tells the customer about shipping and invoices. It reads the invoice through
// the claim check (fetched and verified before the handler runs).
import { createBus, on } from '@eda/core';
import { InvoiceIssued, OrderShipped } from '../contracts.js';
import type { Infrastructure } from '../infrastructure.js';

export function createNotificationsService(infra: Infrastructure) {
  const bus = createBus({
    service: 'notifications',
    transport: infra.transport,
    claimCheck: { store: infra.payloads },
    idempotency: { store: infra.idempotency },
    observers: [infra.tracker.observe],
  });
  const sent: string[] = [];
  return {
    bus,
    sent,
    start: () =>
      bus.subscribe({
        handlers: [
          on(
            OrderShipped,
            ({ data }) =>
              void sent.push(`order ${data.orderId} shipped, tracking ${data.trackingNumber}`),
          ),
          on(InvoiceIssued, ({ data }) => {
            const bytes = Buffer.from(data.documentBase64, 'base64').byteLength;
            sent.push(
              `invoice for ${data.orderId} attached (${(bytes / 1024 / 1024).toFixed(1)} MiB)`,
            );
          }),
        ],
      }),
  };
}
