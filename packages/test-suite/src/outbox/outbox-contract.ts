// Runs outbox store cases over fresh environments and registers the suite with vitest.
import { jsonCodec, type OutgoingMessage } from '@eda/core';
import { uuidv7 } from '@eda/core/adapter';
import { expect } from 'vitest';
import {
  type CaseScope,
  type ContractOptions,
  type ContractSuite,
  DEFAULT_IDLE_MS,
  describeContract,
  runContractCase,
} from '../contract-case.js';
import { createNamer } from '../unique-name.js';
import { outboxStoreCases } from './outbox-cases.js';
import type {
  OutboxCase,
  OutboxCaseContext,
  OutboxContractSetup,
  OutboxEnvironment,
  OutboxRequirement,
  OutboxTransaction,
} from './outbox-setup.js';

function createContext(
  setup: OutboxContractSetup<unknown>,
  environment: OutboxEnvironment<unknown>,
  scope: CaseScope,
): OutboxCaseContext {
  expect(
    environment.store.capabilities,
    'capabilities of the store must equal the ones the setup claims',
  ).toEqual(setup.capabilities);
  const name = createNamer();
  const type = name('contract.outbox');
  const source = name('writer');
  const begin = async (): Promise<OutboxTransaction<unknown>> => {
    const handle = await environment.begin();
    let open = true;
    scope.defer(async () => {
      if (open) await handle.rollback();
    });
    return {
      transaction: handle.transaction,
      commit: async () => {
        open = false;
        await handle.commit();
      },
      rollback: async () => {
        open = false;
        await handle.rollback();
      },
    };
  };
  return {
    setup,
    environment,
    store: environment.store,
    capabilities: setup.capabilities,
    idleMs: setup.idleMs ?? DEFAULT_IDLE_MS,
    name,
    message({ n, aggregate, kind = 'event' }): OutgoingMessage {
      const id = uuidv7();
      return {
        attributes: {
          id,
          type,
          source,
          specversion: '1.0',
          time: new Date().toISOString(),
          kind,
          datacontenttype: 'application/json',
          correlationid: `workflow-${n}`,
          traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
          ...(aggregate === undefined ? {} : { partitionkey: aggregate, subject: aggregate }),
        },
        body: jsonCodec.encode({ n, aggregate }),
      };
    },
    numberOf(message) {
      return (jsonCodec.decode(message.body) as { n: number }).n;
    },
    begin,
    async write(messages) {
      const handle = await begin();
      await environment.store.add(handle.transaction, messages);
      await handle.commit();
    },
    async otherStore() {
      if (typeof environment.otherStore !== 'function') {
        throw new Error(
          'The setup declares the otherStore hook but its environment has no otherStore().',
        );
      }
      return environment.otherStore();
    },
    defer: (step) => scope.defer(step),
  };
}

/** The outbox store suite for the generic registration. */
export const outboxStoreSuite: ContractSuite<
  OutboxContractSetup<unknown>,
  OutboxEnvironment<unknown>,
  OutboxCaseContext,
  OutboxRequirement
> = {
  subject: 'outbox store',
  hooks: ['otherStore'],
  cases: outboxStoreCases,
  createContext,
};

/** Runs one outbox store case in a fresh environment and cleans it up; rejects when the store breaks the contract. */
export async function runOutboxStoreCase<TTransaction>(
  testCase: OutboxCase,
  setup: OutboxContractSetup<TTransaction>,
): Promise<void> {
  await runContractCase(outboxStoreSuite, setup as OutboxContractSetup<unknown>, testCase);
}

/**
 * Registers the outbox store contract with vitest: one test per case in `outboxStoreCases`, each
 * in its own environment, skipped with the reason when the store lacks what it needs.
 */
export function describeOutboxStoreContract<TTransaction>(
  name: string,
  setup: OutboxContractSetup<TTransaction>,
  options: ContractOptions = {},
): void {
  describeContract(outboxStoreSuite, name, setup as OutboxContractSetup<unknown>, options);
}
