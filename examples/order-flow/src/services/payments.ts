// Payments: records a payment and its PaymentCompleted event in one transaction (the outbox),
// so the event exists if and only if the payment does. It only writes to the outbox: a relay
// (another process, or the same one in the embedded demo) publishes.
import { createBus, type OutgoingMessage } from '@eda/core';
import { type OrderLine, PaymentCompleted } from '../contracts.js';
import { type Infrastructure, serviceBusOptions } from '../infrastructure.js';

export function createPaymentsService(infra: Infrastructure) {
  /** What this service wrote to the outbox, as it went to the wire (the demo replays one). */
  const written: OutgoingMessage[] = [];
  const bus = createBus<unknown>({
    ...serviceBusOptions(infra, 'payments'),
    outbox: infra.outbox,
    publishMiddleware: [
      async (message) => {
        written.push(message);
        return message;
      },
    ],
  });

  return {
    bus,
    written,
    async completePayment(orderId: string, amountCents: number, lines: OrderLine[]) {
      await infra.transaction(async (transaction) => {
        const payment = { service: 'payments', orderId, effect: 'paid' };
        // Paying is retried when PostgreSQL is unreachable, and a COMMIT can succeed although
        // its connection was cut before the acknowledgment: the retry must find that payment
        // rather than take the money (and announce it) twice.
        if (await infra.ledger.has(payment, transaction)) return;
        await infra.ledger.record(payment, transaction);
        await bus.publish(
          PaymentCompleted,
          { orderId, amountCents, lines },
          { transaction, partitionKey: orderId, subject: orderId },
        );
      });
    },
  };
}
