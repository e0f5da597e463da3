// Runs event store cases over fresh environments and registers the suite with vitest.
import {
  createEventCommitter,
  defineDomainEvent,
  defineEvent,
  type EventStore,
  type OutgoingMessage,
} from '@eda/core';
import { expect } from 'vitest';
import {
  type CaseScope,
  type ContractOptions,
  type ContractSuite,
  DEFAULT_IDLE_MS,
  describeContract,
  runContractCase,
} from '../contract-case.js';
import { createDeferred } from '../deferred.js';
import { createNamer } from '../unique-name.js';
import { eventStoreCases } from './event-store-cases.js';
import type {
  EventStoreCase,
  EventStoreCaseContext,
  EventStoreContractSetup,
  EventStoreEnvironment,
  EventStoreRequirement,
  HeldTransaction,
} from './event-store-setup.js';

/** Thrown inside a held transaction to roll it back; never seen by a case. */
const ROLLBACK = Symbol('rollback');

/** Opens a transaction with `store.transaction` and holds it until commit() or rollback(). */
async function holdTransaction(store: EventStore<unknown>): Promise<HeldTransaction> {
  const opened = createDeferred<unknown>();
  const finish = createDeferred<boolean>();
  const ended = store.transaction(async (transaction) => {
    opened.resolve(transaction);
    if (!(await finish.promise)) throw ROLLBACK;
  });
  // Until commit() or rollback() awaits it, a failure is only reported through them.
  ended.catch(() => undefined);
  const transaction = await Promise.race([
    opened.promise,
    ended.then(() => {
      throw new Error('store.transaction() ended before calling its function.');
    }),
  ]);
  return {
    transaction,
    async commit() {
      finish.resolve(true);
      await ended;
    },
    async rollback() {
      finish.resolve(false);
      await ended.catch((error: unknown) => {
        if (error !== ROLLBACK) throw error;
      });
    },
  };
}

/** A minimal Standard Schema: `{ n }` with an integer `n`. */
const countSchema = {
  '~standard': {
    version: 1 as const,
    vendor: 'eda-test-suite',
    // Type-level only, as Standard Schema libraries declare it.
    types: undefined as unknown as { input: { n: number }; output: { n: number } },
    validate: (value: unknown) =>
      typeof value === 'object' && value !== null && Number.isInteger((value as { n?: unknown }).n)
        ? { value: value as { n: number } }
        : { issues: [{ message: 'n must be an integer', path: ['n'] }] },
  },
};

function createContext(
  setup: EventStoreContractSetup<unknown>,
  environment: EventStoreEnvironment<unknown>,
  scope: CaseScope,
): EventStoreCaseContext {
  expect(
    environment.store.capabilities,
    'capabilities of the store must equal the ones the setup claims',
  ).toEqual(setup.capabilities);
  const name = createNamer();
  const service = name('counter');
  const { store, outbox } = environment;
  return {
    store,
    outbox,
    idleMs: setup.idleMs ?? DEFAULT_IDLE_MS,
    name,
    service,
    Counted: defineDomainEvent({ type: name('counted'), schema: countSchema }),
    Noted: defineDomainEvent<{ note: string }>({ type: name('noted') }),
    CountPublished: defineEvent<{ n: number }>({ type: name('count.published'), owner: service }),
    async begin() {
      const held = await holdTransaction(store);
      let open = true;
      scope.defer(async () => {
        if (open) await held.rollback();
      });
      return {
        transaction: held.transaction,
        commit: async () => {
          open = false;
          await held.commit();
        },
        rollback: async () => {
          open = false;
          await held.rollback();
        },
      };
    },
    committer: (other) => createEventCommitter({ service, store, outbox: other ?? outbox }),
    async takeOutbox() {
      const messages: OutgoingMessage[] = [];
      for (;;) {
        const records = await outbox.claim({ limit: 500, leaseMs: 60_000 });
        if (records.length === 0) return messages;
        await outbox.complete(records);
        messages.push(...records.map((record) => record.message));
      }
    },
    defer: (step) => scope.defer(step),
  };
}

/** The event store suite for the generic registration. */
export const eventStoreSuite: ContractSuite<
  EventStoreContractSetup<unknown>,
  EventStoreEnvironment<unknown>,
  EventStoreCaseContext,
  EventStoreRequirement
> = {
  subject: 'event store',
  hooks: [],
  cases: eventStoreCases,
  createContext,
};

/** Runs one event store case in a fresh environment and cleans it up; rejects when the store breaks the contract. */
export async function runEventStoreCase<TTransaction>(
  testCase: EventStoreCase,
  setup: EventStoreContractSetup<TTransaction>,
): Promise<void> {
  await runContractCase(eventStoreSuite, setup as EventStoreContractSetup<unknown>, testCase);
}

/**
 * Registers the event store contract with vitest: one test per case in `eventStoreCases`, each
 * in its own environment: appends and reads round-trip, optimistic concurrency (exactly one of
 * concurrent appends wins), a global order without gaps from late commits, rollback, and the
 * combined commit of domain events and their integration events (both or neither).
 */
export function describeEventStoreContract<TTransaction>(
  name: string,
  setup: EventStoreContractSetup<TTransaction>,
  options: ContractOptions = {},
): void {
  describeContract(eventStoreSuite, name, setup as EventStoreContractSetup<unknown>, options);
}
