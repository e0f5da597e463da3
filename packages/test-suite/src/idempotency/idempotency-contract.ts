// Runs idempotency store cases over fresh environments and registers the suite with vitest.
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
import { idempotencyStoreCases } from './idempotency-cases.js';
import type {
  IdempotencyCase,
  IdempotencyCaseContext,
  IdempotencyContractSetup,
  IdempotencyEnvironment,
  IdempotencyRequirement,
} from './idempotency-setup.js';

function createContext(
  setup: IdempotencyContractSetup,
  environment: IdempotencyEnvironment,
  scope: CaseScope,
): IdempotencyCaseContext {
  expect(
    environment.store.capabilities,
    'capabilities of the store must equal the ones the setup claims',
  ).toEqual(setup.capabilities);
  return {
    setup,
    environment,
    store: environment.store,
    capabilities: setup.capabilities,
    idleMs: setup.idleMs ?? DEFAULT_IDLE_MS,
    name: createNamer(),
    async restart() {
      if (typeof environment.restart !== 'function')
        throw new Error(
          'The setup declares the restart hook but its environment has no restart().',
        );
      return environment.restart();
    },
    defer: (step) => scope.defer(step),
  };
}

/** The idempotency store suite for the generic registration. */
export const idempotencyStoreSuite: ContractSuite<
  IdempotencyContractSetup,
  IdempotencyEnvironment,
  IdempotencyCaseContext,
  IdempotencyRequirement
> = {
  subject: 'idempotency store',
  hooks: ['restart'],
  cases: idempotencyStoreCases,
  createContext,
};

/** Runs one idempotency store case in a fresh environment and cleans it up; rejects when the store breaks the contract. */
export async function runIdempotencyStoreCase(
  testCase: IdempotencyCase,
  setup: IdempotencyContractSetup,
): Promise<void> {
  await runContractCase(idempotencyStoreSuite, setup, testCase);
}

/**
 * Registers the idempotency store contract with vitest: one test per case in
 * `idempotencyStoreCases`, each in its own environment, skipped with the reason when the store
 * lacks what it needs.
 */
export function describeIdempotencyStoreContract(
  name: string,
  setup: IdempotencyContractSetup,
  options: ContractOptions = {},
): void {
  describeContract(idempotencyStoreSuite, name, setup, options);
}
