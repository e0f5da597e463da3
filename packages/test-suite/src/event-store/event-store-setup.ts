// What an adapter gives the event store contract suite, and what each case receives.
import type {
  DomainEventDefinition,
  EventCommitter,
  EventDefinition,
  EventStore,
  EventStoreCapabilities,
  OutboxStore,
  OutgoingMessage,
} from '@eda/core';
import type { ContractCase, ContractTiming } from '../contract-case.js';

/** A capability flag an event store case needs. */
export type EventStoreRequirement = keyof EventStoreCapabilities;

/** One isolated event store (its own tables or schema) with an outbox on the same database. */
export interface EventStoreEnvironment<TTransaction> {
  /** The store under test. */
  readonly store: EventStore<TTransaction>;
  /** An outbox store whose `add` takes the store's transactions, for the combined commit. */
  readonly outbox: OutboxStore<TTransaction>;
  /** Drops the tables and closes connections. */
  cleanup(): Promise<void>;
}

/** What `describeEventStoreContract` needs from an adapter. */
export interface EventStoreContractSetup<TTransaction> extends ContractTiming {
  /** The capabilities the adapter claims; the store must report exactly these. */
  readonly capabilities: EventStoreCapabilities;
  /** A fresh, isolated environment for one case. Retried on failure (set-up, never assertions). */
  createEnvironment(): Promise<EventStoreEnvironment<TTransaction>>;
}

/** A transaction a case holds open across its steps. */
export interface HeldTransaction {
  readonly transaction: unknown;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** The test definitions of one case run: two domain event types and one integration event. */
export interface EventStoreFixtures {
  /** Domain event `{ n: number }`, validated: `n` must be an integer. */
  readonly Counted: DomainEventDefinition<{ n: number }>;
  /** Domain event `{ note: string }`, no schema. */
  readonly Noted: DomainEventDefinition<{ note: string }>;
  /** Integration event `{ n: number }` owned by `service`. */
  readonly CountPublished: EventDefinition<{ n: number }>;
  /** The service that owns `CountPublished`. */
  readonly service: string;
}

/** What an event store case runs with. */
export interface EventStoreCaseContext extends EventStoreFixtures {
  /** The store under test, checked against the claimed capabilities. */
  readonly store: EventStore<unknown>;
  readonly outbox: OutboxStore<unknown>;
  /** Idle timeout of every wait, from the setup. */
  readonly idleMs: number;
  /** `label` plus a suffix unique to this run. */
  name(label: string): string;
  /** Opens a transaction through `store.transaction`; rolled back after the case if still open. */
  begin(): Promise<HeldTransaction>;
  /** A committer of `service` over the store and `outbox` (or the environment's outbox). */
  committer(outbox?: OutboxStore<unknown>): EventCommitter<unknown>;
  /** The committed outbox messages, claimed and completed (each returned once). */
  takeOutbox(): Promise<OutgoingMessage[]>;
  /** Runs `step` after the case (last registered first). */
  defer(step: () => unknown): void;
}

/** An event store contract case. */
export type EventStoreCase = ContractCase<EventStoreCaseContext, EventStoreRequirement>;
