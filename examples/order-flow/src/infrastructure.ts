// What the services run on. Services receive this object and never construct infrastructure
// themselves, so moving the example from the embedded defaults to Kafka, RabbitMQ, PostgreSQL,
// Redis and S3 is a change of configuration (see real-infrastructure.ts), not of service code.
import {
  type BusObserver,
  type BusOptions,
  createInMemoryEventStore,
  createInMemoryIdempotencyStore,
  createInMemoryOutboxStore,
  createInMemoryPayloadStore,
  createInMemoryTransport,
  createWorkflowTracker,
  type EventStore,
  type OutboxRelayObserver,
  type OutboxStore,
  type PayloadStore,
  type Transport,
  type WorkflowTracker,
} from '@eda/core';
import {
  type AuditReporter,
  createAuditReporter,
  createInMemoryMonitorStore,
  createWorkflowMonitor,
  defineWorkflow,
  type WorkflowMonitor,
} from '@eda/workflow-monitor';
import { createInMemoryLedger, type Ledger } from './ledger.js';
import { EXAMPLE_TRACING } from './tracing.js';

export interface Infrastructure {
  /** A name for the report, such as "embedded (in-memory)". */
  readonly description: string;
  /** Absent in a process that only writes to the outbox (payments): a relay publishes for it. */
  readonly transport?: Transport;
  readonly outbox: OutboxStore<unknown>;
  /** Where inventory keeps its stock as event streams: the outbox's database, so both commit together. */
  readonly eventStore: EventStore<unknown>;
  /** Runs `fn` in a database transaction of the outbox's store, committed if it resolves. */
  transaction<T>(fn: (transaction: unknown) => Promise<T>): Promise<T>;
  /** How consumers dedupe: an idempotency store, or a middleware such as a transactional inbox. */
  readonly dedupe: Pick<BusOptions, 'idempotency' | 'middleware'>;
  /**
   * Runs a handler's work in the handler's transaction: the inbox's where there is one (its
   * dedupe row commits with the rest), else a new one of the outbox's database. The handler
   * writes its effect and what it publishes there (`{ transaction }`), so both commit together
   * and the message leaves through the outbox only once the effect it announces is there. Sent
   * straight from the handler instead, a message could leave before the COMMIT (a consumer
   * killed in between has its effect rolled back while the next service already acted on it),
   * or fail after it (a broker restarting): the handling fails and, with Redis dedupe, the retry
   * applies the effect a second time.
   */
  handlerTransaction<T>(fn: (transaction: unknown) => Promise<T>): Promise<T>;
  /** Messages each consumer handles at once (one key at a time on Kafka). @default 1 */
  readonly consumerConcurrency?: number;
  readonly payloads: PayloadStore;
  /** Where services record the effects they applied. */
  readonly ledger: Ledger;
  readonly tracker: WorkflowTracker;
  /**
   * The workflow monitor and the audit reporter that feeds it, where this infrastructure runs
   * one (embedded: in this process, in memory).
   */
  readonly audit?: { readonly reporter: AuditReporter; readonly monitor: WorkflowMonitor };
  /** Told about everything every bus does (the tracker, and in processes a progress printer). */
  readonly observers: readonly BusObserver[];
  /** Told what the outbox relay published, where something watches it (the workflow monitor). */
  readonly relayObservers?: readonly OutboxRelayObserver[];
  close(): Promise<void>;
}

/** The bus options every service takes from the infrastructure. */
export function serviceBusOptions(infra: Infrastructure, service: string) {
  return {
    service,
    observers: infra.observers,
    tracing: EXAMPLE_TRACING,
    outbox: infra.outbox,
    ...(infra.transport ? { transport: infra.transport } : {}),
  };
}

/** What every consumer subscribes with besides its handlers. */
export function subscribeOptions(infra: Infrastructure): { concurrency?: number } {
  return infra.consumerConcurrency ? { concurrency: infra.consumerConcurrency } : {};
}

/** The order workflow the tracker watches. */
export function createOrderTracker(): WorkflowTracker {
  return createWorkflowTracker({
    workflows: [
      {
        name: 'order',
        startsWith: 'payment.completed',
        endsWith: ['order.shipped', 'invoice.issued'],
        deadlineMs: 10_000,
      },
    ],
  });
}

/**
 * The order workflow as the monitor watches it: a payment starts it, the shipment and the invoice
 * end it; shipping and billing each have `stepMs` to act, the whole `totalMs`.
 */
export function orderWorkflow({
  stepMs = 5_000,
  totalMs = 10_000,
}: {
  readonly stepMs?: number | undefined;
  readonly totalMs?: number | undefined;
} = {}) {
  return defineWorkflow({
    name: 'order',
    startsWith: 'payment.completed',
    endsWith: { all: ['order.shipped', 'invoice.issued'] },
    steps: [
      { type: 'ship.order', service: 'shipping', deadlineMs: stepMs },
      { type: 'payment.completed', service: 'billing', deadlineMs: stepMs },
    ],
    deadlineMs: totalMs,
  });
}

export const ORDER_WORKFLOW = orderWorkflow();

/** A monitor in this process, in memory, and a reporter every bus and relay report to. */
function createEmbeddedAudit() {
  const monitor = createWorkflowMonitor({
    store: createInMemoryMonitorStore(),
    workflows: [ORDER_WORKFLOW],
  });
  const reporter = createAuditReporter({
    service: 'order-flow',
    sink: async (records) => void (await monitor.ingest(records)),
  });
  return { monitor, reporter };
}

/** Embedded (in-memory) defaults: no service needed. */
export function createEmbeddedInfrastructure(): Infrastructure {
  const transport = createInMemoryTransport();
  const outbox = createInMemoryOutboxStore();
  const tracker = createOrderTracker();
  const audit = createEmbeddedAudit();
  return {
    description: 'embedded (in-memory)',
    transport,
    outbox: outbox as OutboxStore<unknown>,
    eventStore: createInMemoryEventStore({ outbox }) as EventStore<unknown>,
    transaction: (fn) => outbox.transaction(fn),
    dedupe: { idempotency: { store: createInMemoryIdempotencyStore() } },
    handlerTransaction: (fn) => outbox.transaction(fn),
    payloads: createInMemoryPayloadStore(),
    ledger: createInMemoryLedger(),
    tracker,
    audit,
    observers: [tracker.observe, audit.reporter.observe],
    relayObservers: [audit.reporter.observeRelay],
    async close() {
      await audit.reporter.close();
      await transport.close();
      transport.broker.close();
    },
  };
}
