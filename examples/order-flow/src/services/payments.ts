// Payments: records a payment and its PaymentCompleted event in one transaction (the outbox),
// so the event exists if and only if the payment does.
import { createBus } from '@eda/core';
import { type OrderLine, PaymentCompleted } from '../contracts.js';
import type { Infrastructure } from '../infrastructure.js';

export function createPaymentsService(infra: Infrastructure) {
  const bus = createBus({
    service: 'payments',
    transport: infra.transport,
    outbox: infra.outbox,
    observers: [infra.tracker.observe],
  });
  const payments = new Map<string, number>(); // this service's own state (a table in real life)

  return {
    bus,
    async completePayment(orderId: string, amountCents: number, lines: OrderLine[]) {
      await infra.outbox.transaction(async (transaction) => {
        payments.set(orderId, amountCents);
        await bus.publish(
          PaymentCompleted,
          { orderId, amountCents, lines },
          { transaction, partitionKey: orderId, subject: orderId },
        );
      });
    },
  };
}
