// The harness itself: waits, requirement checks, capability checks and clean-up.
import { inMemoryCapabilities } from '@eda/core/adapter';
import { describe, expect, it, vi } from 'vitest';
import {
  createInbox,
  describeTransportContract,
  idempotencyStoreCases,
  outboxStoreCases,
  runIdempotencyStoreCase,
  runOutboxStoreCase,
  runTransportCase,
  type TransportContractSetup,
  transportCases,
  WaitTimeoutError,
  waitFor,
} from '../src/index.js';
import {
  memoryIdempotencySetup,
  memoryOutboxSetup,
  memoryTransportSetup,
} from './memory-setups.js';

describe('waitFor', () => {
  it('resolves as soon as the condition holds', async () => {
    let ready = false;
    setTimeout(() => {
      ready = true;
    }, 20);
    await waitFor(() => ready, { idleMs: 1000 });
    expect(ready).toBe(true);
  });

  it('keeps waiting past idleMs while progress changes, and fails once it stops', async () => {
    // Fake timers: a loaded machine can stall the 20 ms pushes past idleMs, which is a real
    // idle period and made this check of the harness itself flaky.
    vi.useFakeTimers();
    try {
      const inbox = createInbox<number>();
      const timer = setInterval(() => inbox.push(inbox.items.length), 20);
      setTimeout(() => clearInterval(timer), 300);
      const started = Date.now();
      const failure = inbox
        .until((items) => items.length > 1000, { idleMs: 100, description: 'too many' })
        .then(
          () => undefined,
          (error: unknown) => ({ error, afterMs: Date.now() - started }),
        );
      await vi.advanceTimersByTimeAsync(1000);
      const outcome = await failure;
      expect(outcome?.error).toBeInstanceOf(WaitTimeoutError);
      // Pushes went on for 300 ms, then nothing for idleMs (100 ms): it failed then, not earlier.
      expect(outcome?.afterMs).toBeGreaterThanOrEqual(380);
      expect(outcome?.afterMs).toBeLessThanOrEqual(420);
    } finally {
      vi.useRealTimers();
    }
  });

  it('names what it waited for', async () => {
    await expect(
      waitFor(() => false, { idleMs: 20, description: () => 'the answer' }),
    ).rejects.toThrow(/Nothing happened for 20 ms while waiting for the answer/);
  });
});

describe('requirements and claims', () => {
  const withoutCommands: TransportContractSetup = {
    ...memoryTransportSetup(),
    capabilities: { ...inMemoryCapabilities, commands: false },
  };

  it('refuses to run a case directly when the setup lacks what it needs', async () => {
    await expect(
      runTransportCase(transportCases.commandOwnership, withoutCommands),
    ).rejects.toThrow(/cannot run: transport has no commands capability/);
    const noHooks = { ...memoryTransportSetup(), hooks: [] };
    await expect(runTransportCase(transportCases.eventKillClient, noHooks)).rejects.toThrow(
      /cannot run: environment has no killClient hook/,
    );
    // The store suites share the check: hooks and capabilities are told apart the same way.
    const outboxWithoutHooks = { ...memoryOutboxSetup(), hooks: [] };
    await expect(
      runOutboxStoreCase(outboxStoreCases.concurrentRelays, outboxWithoutHooks),
    ).rejects.toThrow(/cannot run: environment has no otherStore hook/);
    await expect(
      runIdempotencyStoreCase(idempotencyStoreCases.restart, memoryIdempotencySetup()),
    ).rejects.toThrow(/cannot run: idempotency store has no persistent capability/);
  });

  it('fails a case when the connected transport reports other capabilities than the setup claims', async () => {
    await expect(runTransportCase(transportCases.eventRoundTrip, withoutCommands)).rejects.toThrow(
      /capabilities of the connected memory client must equal the ones the setup claims/,
    );
  });

  it('fails a case when a declared hook is missing from the environment', async () => {
    const setup = memoryTransportSetup();
    const hookless: TransportContractSetup = {
      ...setup,
      async createEnvironment() {
        const { restartBroker: _dropped, ...environment } = await setup.createEnvironment();
        return environment;
      },
    };
    await expect(runTransportCase(transportCases.eventRestartBroker, hookless)).rejects.toThrow(
      /declares the restartBroker hook but its environment has no restartBroker\(\)/,
    );
  });

  it('rejects expectedFailures that name no case', () => {
    expect(() =>
      describeTransportContract('typo', memoryTransportSetup(), {
        expectedFailures: { roundTrip: 'no such id' },
      }),
    ).toThrow(/expectedFailures names "roundTrip", which is not a case of the transport contract/);
  });
});

describe('environments', () => {
  it('retries a failing set-up and always cleans up, also after a failed case', async () => {
    const setup = memoryTransportSetup();
    let attempts = 0;
    let cleanups = 0;
    const flaky: TransportContractSetup = {
      ...setup,
      async createEnvironment() {
        attempts += 1;
        if (attempts === 1) throw new Error('broker not ready yet');
        const environment = await setup.createEnvironment();
        return {
          ...environment,
          async cleanup() {
            cleanups += 1;
            await environment.cleanup();
          },
        };
      },
    };
    await runTransportCase(transportCases.eventRoundTrip, flaky);
    expect({ attempts, cleanups }).toEqual({ attempts: 2, cleanups: 1 });
    const failing: TransportContractSetup = {
      ...flaky,
      capabilities: { ...inMemoryCapabilities, replay: false },
    };
    await expect(runTransportCase(transportCases.eventRoundTrip, failing)).rejects.toThrow();
    expect(cleanups).toBe(2);
  });

  it('rolls back the transactions a case left open', async () => {
    const setup = memoryOutboxSetup();
    let rolledBack = 0;
    await runOutboxStoreCase(
      {
        name: 'leaves a transaction open',
        requires: [],
        async run(context) {
          const transaction = await context.begin();
          await context.store.add(transaction.transaction, [context.message({ n: 1 })]);
        },
      },
      {
        ...setup,
        async createEnvironment() {
          const environment = await setup.createEnvironment();
          return {
            ...environment,
            async begin() {
              const handle = await environment.begin();
              return {
                ...handle,
                rollback: async () => {
                  rolledBack += 1;
                  await handle.rollback();
                },
              };
            },
          };
        },
      },
    );
    expect(rolledBack).toBe(1);
  });
});
