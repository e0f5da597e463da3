// The messages of the order flow, each defined once by the boundary that owns it: events by
// their publisher, the command by its handler.
import { defineCommand, defineEvent } from '@eda/core';

export interface OrderLine {
  readonly sku: string;
  readonly quantity: number;
}

export const PaymentCompleted = defineEvent<{
  orderId: string;
  amountCents: number;
  lines: OrderLine[];
}>({
  type: 'payment.completed',
  owner: 'payments',
});

/**
 * How many of a SKU can still be ordered. Inventory derives it from its internal stock events
 * (services/stock.ts), which never leave the service; the entity is the SKU and its `version`
 * the stock stream's version.
 */
export const StockAvailabilityChanged = defineEvent<{ sku: string; available: number }>({
  type: 'inventory.stock-availability-changed',
  owner: 'inventory',
});

export const ShipOrder = defineCommand<{ orderId: string; lines: OrderLine[] }>({
  type: 'ship.order',
  owner: 'shipping',
});

export const OrderShipped = defineEvent<{ orderId: string; trackingNumber: string }>({
  type: 'order.shipped',
  owner: 'shipping',
});

/** The invoice document travels by claim check: it is several megabytes. */
export const InvoiceIssued = defineEvent<{ orderId: string; documentBase64: string }>({
  type: 'invoice.issued',
  owner: 'billing',
});
