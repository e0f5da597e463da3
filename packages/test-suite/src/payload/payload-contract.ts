// Runs payload store cases over fresh environments and registers the suite with vitest.
import { expect } from 'vitest';
import {
  type CaseScope,
  type ContractOptions,
  type ContractSuite,
  describeContract,
  runContractCase,
} from '../contract-case.js';
import type {
  PayloadCase,
  PayloadCaseContext,
  PayloadContractSetup,
  PayloadEnvironment,
  PayloadRequirement,
} from './payload-setup.js';
import { payloadStoreCases } from './payload-store-cases.js';

function createContext(
  setup: PayloadContractSetup,
  environment: PayloadEnvironment,
  scope: CaseScope,
): PayloadCaseContext {
  expect(
    environment.store.capabilities,
    'capabilities of the store must equal the ones the setup claims',
  ).toEqual(setup.capabilities);
  return {
    setup,
    environment,
    store: environment.store,
    capabilities: setup.capabilities,
    defer: (step) => scope.defer(step),
  };
}

/** The payload store suite for the generic registration. */
export const payloadStoreSuite: ContractSuite<
  PayloadContractSetup,
  PayloadEnvironment,
  PayloadCaseContext,
  PayloadRequirement
> = {
  subject: 'payload store',
  hooks: [],
  cases: payloadStoreCases,
  createContext,
};

/** Runs one payload store case in a fresh environment and cleans it up; rejects when the store breaks the contract. */
export async function runPayloadStoreCase(
  testCase: PayloadCase,
  setup: PayloadContractSetup,
): Promise<void> {
  await runContractCase(payloadStoreSuite, setup, testCase);
}

/**
 * Registers the payload store contract with vitest: one test per case in `payloadStoreCases`,
 * each in its own environment, skipped with the reason when the store lacks what it needs.
 */
export function describePayloadStoreContract(
  name: string,
  setup: PayloadContractSetup,
  options: ContractOptions = {},
): void {
  describeContract(payloadStoreSuite, name, setup, options);
}
