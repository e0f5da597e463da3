// What an adapter gives the outbox store contract suite, and what each case receives.
import type { MessageKind, OutboxStore, OutgoingMessage } from '@eda/core';
import type { OutboxCapabilities } from '@eda/core/adapter';
import type { ContractCase, ContractTiming } from '../contract-case.js';

/** Optional hooks an outbox environment may offer. */
export type OutboxHook = 'otherStore';

/** A capability flag or a hook that an outbox case needs. */
export type OutboxRequirement = keyof OutboxCapabilities | OutboxHook;

/** An open transaction of the store's database. */
export interface OutboxTransaction<TTransaction> {
  /** The handle `OutboxStore.add` takes (for Postgres, the client inside `BEGIN`). */
  readonly transaction: TTransaction;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** One isolated outbox (its own table or schema), for one case. */
export interface OutboxEnvironment<TTransaction> {
  /** The store under test. */
  readonly store: OutboxStore<TTransaction>;
  /** Opens a transaction on the store's database. The suite rolls back any it leaves open. */
  begin(): Promise<OutboxTransaction<TTransaction>>;
  /** A second store on its own connection over the same outbox, for concurrent relays. */
  otherStore?(): Promise<OutboxStore<TTransaction>>;
  /** Drops the outbox and closes connections. */
  cleanup(): Promise<void>;
}

/** What `describeOutboxStoreContract` needs from an adapter. */
export interface OutboxContractSetup<TTransaction> extends ContractTiming {
  /** The capabilities the adapter claims; the store must report exactly these. */
  readonly capabilities: OutboxCapabilities;
  /** The optional hooks `createEnvironment` provides. @default [] */
  readonly hooks?: readonly OutboxHook[];
  /** A fresh, isolated environment for one case. Retried on failure (set-up, never assertions). */
  createEnvironment(): Promise<OutboxEnvironment<TTransaction>>;
}

/** Options of a test message. */
export interface OutboxMessageOptions {
  /** Sequence number, carried in the data as `{ n }`. */
  readonly n: number;
  /** The aggregate (partition key). @default none */
  readonly aggregate?: string;
  /** @default 'event' */
  readonly kind?: MessageKind;
}

/** What an outbox case runs with. */
export interface OutboxCaseContext {
  readonly setup: OutboxContractSetup<unknown>;
  readonly environment: OutboxEnvironment<unknown>;
  /** The store under test, checked against the claimed capabilities. */
  readonly store: OutboxStore<unknown>;
  readonly capabilities: OutboxCapabilities;
  /** Idle timeout of every wait, from the setup. */
  readonly idleMs: number;
  /** `label` plus a suffix unique to this run. */
  name(label: string): string;
  /** A message of this run's type, with data `{ n, aggregate }`. */
  message(options: OutboxMessageOptions): OutgoingMessage;
  /** The `n` in a message's data. */
  numberOf(message: OutgoingMessage): number;
  /** Opens a transaction; rolled back after the case if still open. */
  begin(): Promise<OutboxTransaction<unknown>>;
  /** Adds `messages` in one transaction and commits it. */
  write(messages: readonly OutgoingMessage[]): Promise<void>;
  /** The environment's `otherStore`. */
  otherStore(): Promise<OutboxStore<unknown>>;
  /** Runs `step` after the case (last registered first). */
  defer(step: () => unknown): void;
}

/** An outbox store contract case. */
export type OutboxCase = ContractCase<OutboxCaseContext, OutboxRequirement>;
