// Billing: issues an invoice document of several megabytes per payment. The claim check keeps
// it off the broker: the message carries a verified reference to the payload store.
import { randomBytes } from 'node:crypto';
import { createBus, on } from '@eda/core';
import { InvoiceIssued, PaymentCompleted } from '../contracts.js';
import { type Infrastructure, serviceBusOptions, subscribeOptions } from '../infrastructure.js';

export const INVOICE_BYTES = 3 * 1024 * 1024;

export interface BillingOptions {
  /** Size of each invoice document before base64. @default INVOICE_BYTES (3 MiB) */
  readonly invoiceBytes?: number;
  /** Messages larger than this travel by claim check. @default 256 KiB */
  readonly claimCheckThresholdBytes?: number;
}

export function createBillingService(infra: Infrastructure, options: BillingOptions = {}) {
  const { invoiceBytes = INVOICE_BYTES, claimCheckThresholdBytes = 256 * 1024 } = options;
  const bus = createBus({
    ...serviceBusOptions(infra, 'billing'),
    ...infra.dedupe,
    claimCheck: { store: infra.payloads, thresholdBytes: claimCheckThresholdBytes },
  });
  return {
    bus,
    start: () =>
      bus.subscribe({
        ...subscribeOptions(infra),
        handlers: [
          on(PaymentCompleted, ({ data }) => {
            const { orderId } = data;
            const document = randomBytes(invoiceBytes).toString('base64'); // stands in for a rendered PDF
            // The invoice and its announcement commit together (see handlerTransaction).
            return infra.handlerTransaction(async (transaction) => {
              await infra.ledger.record(
                { service: 'billing', orderId, effect: 'invoiced' },
                transaction,
              );
              await bus.publish(
                InvoiceIssued,
                { orderId, documentBase64: document },
                { partitionKey: orderId, transaction },
              );
            });
          }),
        ],
      }),
  };
}
