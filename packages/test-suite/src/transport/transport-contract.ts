// Runs transport cases: builds each case's context over a fresh environment, and registers the
// whole suite with vitest.
import { type Bus, type BusOptions, createBus, type Transport } from '@eda/core';
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
import { waitFor } from '../wait-for.js';
import { transportCases } from './transport-cases.js';
import type {
  DeadLetterRecord,
  TransportCase,
  TransportCaseContext,
  TransportContractSetup,
  TransportEnvironment,
  TransportHook,
  TransportRequirement,
} from './transport-setup.js';

function createContext(
  setup: TransportContractSetup,
  environment: TransportEnvironment,
  scope: CaseScope,
): TransportCaseContext {
  const idleMs = setup.idleMs ?? DEFAULT_IDLE_MS;
  const name = createNamer();
  const open = new Set<Transport>();
  const hook = <K extends TransportHook>(key: K): NonNullable<TransportEnvironment[K]> => {
    const fn = environment[key];
    if (typeof fn !== 'function') {
      throw new Error(
        `The setup declares the ${key} hook but its environment has no ${key}() function.`,
      );
    }
    return fn.bind(environment) as NonNullable<TransportEnvironment[K]>;
  };
  const adopt = (transport: Transport): Transport => {
    open.add(transport);
    scope.defer(async () => {
      if (open.delete(transport)) await transport.close();
    });
    expect(
      transport.capabilities,
      `capabilities of the connected ${transport.name} client must equal the ones the setup claims`,
    ).toEqual(setup.capabilities);
    return transport;
  };
  return {
    setup,
    environment,
    capabilities: setup.capabilities,
    idleMs,
    name,
    connect: async () => adopt(await environment.connect()),
    connectWithSharedDestination: async (types) =>
      adopt(await hook('connectWithSharedDestination')(types)),
    killClient: async (transport) => {
      await hook('killClient')(transport);
      open.delete(transport); // a killed client is not closed again
    },
    restartBroker: () => hook('restartBroker')(),
    deadLetterAdmin: async () => {
      const admin = await hook('deadLetterAdmin')();
      scope.defer(() => admin.close());
      return admin;
    },
    close: async (transport) => {
      if (open.delete(transport)) await transport.close();
    },
    deadLetters: (subscription) => environment.deadLetters(subscription),
    async waitForDeadLetters(subscription, count, progress) {
      let found: readonly DeadLetterRecord[] = [];
      await waitFor(
        async () => {
          found = await environment.deadLetters(subscription);
          return found.length >= count;
        },
        {
          idleMs,
          intervalMs: 25,
          description: () => `${count} dead letter(s) of "${subscription}" (have ${found.length})`,
          ...(progress ? { progress } : {}),
        },
      );
      return found;
    },
    bus(options: BusOptions): Bus {
      const bus = createBus({
        ...options,
        retry: options.retry ?? {
          immediateRetries: 0,
          maxDeliveries: 5,
          initialDelayMs: 50,
          maxDelayMs: 400,
          jitter: 0,
        },
      });
      scope.defer(() => bus.close());
      return bus;
    },
    defer: (step) => scope.defer(step),
  };
}

/** The transport suite for the generic registration. */
export const transportSuite: ContractSuite<
  TransportContractSetup,
  TransportEnvironment,
  TransportCaseContext,
  TransportRequirement
> = {
  subject: 'transport',
  hooks: ['killClient', 'restartBroker', 'connectWithSharedDestination', 'deadLetterAdmin'],
  cases: transportCases,
  createContext,
};

/**
 * Runs one transport case in a fresh environment from `setup` and cleans it up. Rejects when the
 * transport breaks the contract, or when the case needs a capability or hook the setup lacks.
 */
export async function runTransportCase(
  testCase: TransportCase,
  setup: TransportContractSetup,
): Promise<void> {
  await runContractCase(transportSuite, setup, testCase);
}

/**
 * Registers the transport contract with vitest: one test per case in `transportCases`, each in
 * its own environment; a case needing a capability or hook the setup lacks is registered as
 * skipped with the reason in its title.
 *
 * @example
 * describeTransportContract('kafka', { capabilities: kafkaCapabilities, createEnvironment });
 */
export function describeTransportContract(
  name: string,
  setup: TransportContractSetup,
  options: ContractOptions = {},
): void {
  describeContract(transportSuite, name, setup, options);
}
