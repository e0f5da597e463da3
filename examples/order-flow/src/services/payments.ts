// Payments: records a payment and its PaymentCompleted event in one transaction (the outbox),
// so the event exists if and only if the payment does.
import { createBus, type OutgoingMessage } from '@eda/core';
import { type OrderLine, PaymentCompleted } from '../contracts.js';
import type { Infrastructure } from '../infrastructure.js';

export function createPaymentsService(infra: Infrastructure) {
  /** What this service wrote to the outbox, as it went to the wire (the demo replays one). */
  const written: OutgoingMessage[] = [];
  const bus = createBus<unknown>({
    service: 'payments',
    transport: infra.transport,
    outbox: infra.outbox,
    observers: [infra.tracker.observe],
    publishMiddleware: [
      async (message) => {
        written.push(message);
        return message;
      },
    ],
  });
  const payments = new Map<string, number>(); // this service's own state (a table in real life)

  return {
    bus,
    written,
    async completePayment(orderId: string, amountCents: number, lines: OrderLine[]) {
      await infra.transaction(async (transaction) => {
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
