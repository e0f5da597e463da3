// The idle call reports work that is waiting: a record pending in the outbox, then events no
// consumer group has handled yet (Kafka lag); and it gives up on a system that does not move.
import { createOutboxRelay } from '@eda/core';
import { uniqueName } from '@eda/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNamespace } from '../src/delete-namespace.js';
import { openMonitor } from '../src/processes/monitor.js';
import { createRealInfrastructure, type RealInfrastructure } from '../src/real-infrastructure.js';
import { createPaymentsService } from '../src/services/payments.js';

const namespace = uniqueName('order-idle');
let monitor: Awaited<ReturnType<typeof openMonitor>>;
let infra: RealInfrastructure;

describe('the system-idle probe', () => {
  beforeAll(async () => {
    monitor = await openMonitor(namespace, () => undefined);
    infra = await createRealInfrastructure({ namespace, dedupe: 'inbox', prepareSchema: false });
  });

  afterAll(async () => {
    await infra?.close();
    await monitor?.close();
    await deleteNamespace(namespace);
  });

  it('is idle with nothing written, busy while a record waits in the outbox or events wait for a consumer group', async () => {
    // (The first looks may count as busy: right after the probe created the topics, Kafka may
    // not name their leaders yet, and what cannot be read is never taken for idle.)
    expect(await monitor.probe.waitForIdle()).toMatchObject({ idle: true });

    await createPaymentsService(infra).completePayment('idle-1', 100, [
      { sku: 'mug', quantity: 1 },
    ]);
    const waitingInOutbox = await monitor.probe.check();
    expect(waitingInOutbox).toMatchObject({ idle: false, outbox: { pending: 1 } });
    // Nothing moves (no relay): the wait gives up and says what it saw.
    await expect(monitor.probe.waitForIdle({ noProgressMs: 1000 })).rejects.toThrow(
      /made no progress for 1000 ms and is not idle: .*"pending":1/,
    );

    // A relay publishes it; inventory and billing, which read payment.completed, are not running.
    const relay = createOutboxRelay({ store: infra.outbox, transport: infra.transport! });
    relay.start();
    try {
      const relayed = async () => (await monitor.outbox.counts()).published === 1;
      while (!(await relayed())) await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      await relay.stop();
    }
    const waitingForConsumers = await monitor.probe.check();
    expect(waitingForConsumers.idle).toBe(false);
    expect(waitingForConsumers.outbox.pending).toBe(0);
    const topic = infra.events!.topicFor('payment.completed');
    expect(waitingForConsumers.backlog).toMatchObject({
      [`inventory ${topic}`]: 1,
      [`billing ${topic}`]: 1,
    });
  });
});
