// What each process of the order flow runs: the same service code as the embedded demo, started
// on the infrastructure it was given. Consumers and the relay may run as several instances.
import { createOutboxRelay, describeError } from '@eda/core';
import {
  InvoiceIssued,
  type OrderLine,
  OrderShipped,
  PaymentCompleted,
  ShipOrder,
} from '../contracts.js';
import type { Infrastructure } from '../infrastructure.js';
import { type BillingOptions, createBillingService } from '../services/billing.js';
import { createInventoryService } from '../services/inventory.js';
import { createNotificationsService } from '../services/notifications.js';
import { createPaymentsService } from '../services/payments.js';
import { createShippingService } from '../services/shipping.js';
import type { ConsumerSpec } from '../system-idle.js';
import { EXAMPLE_TRACING } from '../tracing.js';
import { untilAvailable } from './until-available.js';

export const SERVICE_NAMES = [
  'payments',
  'relay',
  'inventory',
  'shipping',
  'billing',
  'notifications',
  'monitor',
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** The order flow's own services: what a process set runs unless told (the monitor watches them). */
export const FLOW_SERVICES: readonly ServiceName[] = SERVICE_NAMES.filter((s) => s !== 'monitor');

/**
 * Payments takes the orders on its standard input, so exactly one runs; one monitor evaluates
 * the deadlines; the others scale.
 */
export const SCALABLE: readonly ServiceName[] = FLOW_SERVICES.filter((s) => s !== 'payments');

export const isServiceName = (name: unknown): name is ServiceName =>
  SERVICE_NAMES.includes(name as ServiceName);

/** Who consumes what in the order flow (each service subscribes under its own name). */
export const ORDER_FLOW_CONSUMERS: readonly ConsumerSpec[] = [
  { name: 'inventory', kind: 'event', types: [PaymentCompleted.type] },
  { name: 'billing', kind: 'event', types: [PaymentCompleted.type] },
  { name: 'shipping', kind: 'command', types: [ShipOrder.type] },
  { name: 'notifications', kind: 'event', types: [OrderShipped.type, InvoiceIssued.type] },
];

/** An order as payments reads it, one JSON object per line. */
export interface OrderRequest {
  readonly orderId: string;
  readonly amountCents: number;
  readonly lines: OrderLine[];
}

export interface ServiceIo {
  /** Writes one line to the supervisor (progress, waits, and the `@paid <orderId>` replies). */
  readonly say: (line: string) => void;
  /** Aborts start-up waits when the process is asked to stop. */
  readonly signal: AbortSignal;
  /** The order lines payments reads (its standard input). */
  readonly orders: AsyncIterable<string>;
}

export interface RunningService {
  /** Resolves once the service is running (connected where it consumes). */
  readonly started: Promise<void>;
  /** Resolves when the service has no more work of its own: payments, once its order feed ended. */
  readonly finished?: Promise<void>;
  /** Stops taking work, finishes what is in flight. */
  stop(): Promise<void>;
}

/**
 * Orders payments pays at once (EDA_ORDER_FLOW_PAYMENTS_IN_FLIGHT): one by one by default; a
 * crash run pays several at once, each its own transaction, so placing is not one long chain of
 * round trips.
 */
function paymentsInFlight(): number {
  const value = process.env.EDA_ORDER_FLOW_PAYMENTS_IN_FLIGHT;
  const limit = value ? Number(value) : 1;
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new Error(
      `EDA_ORDER_FLOW_PAYMENTS_IN_FLIGHT must be a whole number >= 1 (got ${value}).`,
    );
  return limit;
}

function runPayments(infra: Infrastructure, io: ServiceIo): RunningService {
  const payments = createPaymentsService(infra);
  const limit = paymentsInFlight();
  const pay = async (order: OrderRequest) => {
    await untilAvailable(
      'PostgreSQL to record the payment',
      () => payments.completePayment(order.orderId, order.amountCents, order.lines),
      { log: io.say, signal: io.signal },
    );
    io.say(`@paid ${order.orderId}`);
  };
  const placing = (async () => {
    const inFlight = new Set<Promise<void>>();
    for await (const line of io.orders) {
      if (!line.trim()) continue;
      let order: OrderRequest;
      try {
        order = JSON.parse(line) as OrderRequest;
      } catch (error) {
        io.say(`refused an order line that is not JSON (${describeError(error).message}): ${line}`);
        continue;
      }
      const paying: Promise<void> = pay(order).finally(() => inFlight.delete(paying));
      inFlight.add(paying);
      if (inFlight.size >= limit) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  })();
  // Ends when the feed ends (every queued order paid first), or at a stop during a wait for
  // PostgreSQL (that payment was not written, and was not confirmed with @paid).
  const finished = placing.catch(() => undefined);
  return { started: Promise.resolve(), finished, stop: () => finished };
}

function runRelay(infra: Infrastructure, io: ServiceIo): RunningService {
  if (!infra.transport) throw new Error('The relay needs a transport.');
  const relay = createOutboxRelay({
    store: infra.outbox,
    transport: infra.transport,
    tracing: EXAMPLE_TRACING,
    // What it published, for the workflow monitor (an outbox write counts once relayed).
    ...(infra.relayObservers ? { observers: infra.relayObservers } : {}),
    // The relay backs off and retries by itself; say why, so a waiting relay is visible.
    onError: (error) => io.say(`relay: ${describeError(error).message}`),
  });
  relay.start();
  return { started: Promise.resolve(), stop: () => relay.stop() };
}

/**
 * Invoice size and claim-check threshold from EDA_ORDER_FLOW_INVOICE_BYTES and
 * EDA_ORDER_FLOW_CLAIM_CHECK_BYTES: a crash run of 20,000 orders keeps every invoice on the
 * claim check with small documents (3 MiB each would be 60 GB through S3).
 */
function billingOptionsFromEnv(): BillingOptions {
  const read = (name: string) => {
    const value = process.env[name];
    if (!value) return undefined;
    const bytes = Number(value);
    if (!Number.isSafeInteger(bytes) || bytes < 1)
      throw new Error(`${name} must be a positive whole number of bytes (got ${value}).`);
    return bytes;
  };
  const invoiceBytes = read('EDA_ORDER_FLOW_INVOICE_BYTES');
  const claimCheckThresholdBytes = read('EDA_ORDER_FLOW_CLAIM_CHECK_BYTES');
  return {
    ...(invoiceBytes ? { invoiceBytes } : {}),
    ...(claimCheckThresholdBytes ? { claimCheckThresholdBytes } : {}),
  };
}

function runConsumer(
  service: Exclude<ServiceName, 'payments' | 'relay' | 'monitor'>,
  infra: Infrastructure,
  io: ServiceIo,
): RunningService {
  const create = {
    inventory: createInventoryService,
    shipping: createShippingService,
    billing: (on: Infrastructure) => createBillingService(on, billingOptionsFromEnv()),
    notifications: createNotificationsService,
  }[service];
  const { bus, start } = create(infra);
  const started = untilAvailable('the brokers (Kafka, RabbitMQ)', start, {
    log: io.say,
    signal: io.signal,
  }).then(() => undefined);
  return {
    started,
    async stop() {
      await started.catch(() => undefined);
      await bus.close();
    },
  };
}

/** Starts `service` on `infra`. */
export function runService(
  service: ServiceName,
  infra: Infrastructure,
  io: ServiceIo,
): RunningService {
  if (service === 'payments') return runPayments(infra, io);
  if (service === 'relay') return runRelay(infra, io);
  if (service === 'monitor')
    throw new Error(
      'The monitor runs on the real infrastructure: see workflow-monitor-service.ts.',
    );
  return runConsumer(service, infra, io);
}
