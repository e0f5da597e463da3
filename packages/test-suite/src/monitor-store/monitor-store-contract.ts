// Runs monitor store cases over fresh environments and registers the suite with vitest.
import { expect } from 'vitest';
import {
  type ContractOptions,
  type ContractSuite,
  describeContract,
  runContractCase,
} from '../contract-case.js';
import { createNamer } from '../unique-name.js';
import { monitorStoreCases } from './monitor-store-cases.js';
import type {
  MonitorStoreCase,
  MonitorStoreCaseContext,
  MonitorStoreContractSetup,
  MonitorStoreEnvironment,
  MonitorStoreRequirement,
} from './monitor-store-setup.js';

/** The monitor store suite for the generic registration. */
export const monitorStoreSuite: ContractSuite<
  MonitorStoreContractSetup,
  MonitorStoreEnvironment,
  MonitorStoreCaseContext,
  MonitorStoreRequirement
> = {
  subject: 'monitor store',
  hooks: [],
  cases: monitorStoreCases,
  createContext(setup, environment) {
    expect(
      environment.store.capabilities,
      'capabilities of the store must equal the ones the setup claims',
    ).toEqual(setup.capabilities);
    return {
      setup,
      environment,
      store: environment.store,
      capabilities: setup.capabilities,
      name: createNamer(),
    };
  },
};

/** Runs one monitor store case in a fresh environment and cleans it up; rejects when the store breaks the contract. */
export async function runMonitorStoreCase(
  testCase: MonitorStoreCase,
  setup: MonitorStoreContractSetup,
): Promise<void> {
  await runContractCase(monitorStoreSuite, setup, testCase);
}

/**
 * Registers the monitor store contract with vitest: one test per case in `monitorStoreCases`,
 * each in its own environment, skipped with the reason when the store lacks what it needs.
 */
export function describeMonitorStoreContract(
  name: string,
  setup: MonitorStoreContractSetup,
  options: ContractOptions = {},
): void {
  describeContract(monitorStoreSuite, name, setup, options);
}
