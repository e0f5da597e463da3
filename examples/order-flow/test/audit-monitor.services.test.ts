// Audit records over the real brokers to a workflow monitor on PostgreSQL: each service's
// reporter publishes its batches on the transport it already uses; the monitor reads them in
// its own consumer group. A malformed batch ends on the broker's dead-letter destination with
// its reason, after its good records were stored, and the consumer goes on.
import { createBus, defineEvent, on } from '@eda/core';
import { connectRabbit } from '@eda/test-services';
import { waitFor } from '@eda/test-suite';
import {
  auditBatchMessage,
  createAuditReporter,
  createTransportAuditSink,
  defineWorkflow,
} from '@eda/workflow-monitor';
import { afterEach, describe, expect, it } from 'vitest';
import type { createRealTransports } from '../src/real-infrastructure.js';
import { monitorOnBroker } from './monitor-on-broker.js';

const OrderPlaced = defineEvent<{ orderId: string }>({ type: 'order.placed', owner: 'orders' });
const order = defineWorkflow({
  name: 'order',
  startsWith: 'order.placed',
  endsWith: { all: ['order.placed'] },
  deadlineMs: 60_000,
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Waits until `condition` holds; fails only after 60 s in which the monitor stored nothing new. */
function eventually(
  condition: () => Promise<boolean>,
  description: string,
  stored: () => number,
): Promise<void> {
  return waitFor(condition, { idleMs: 60_000, progress: stored, description, intervalMs: 100 });
}

describe.each(['kafka', 'rabbitmq'] as const)('audit records over %s', (broker) => {
  it('reach a monitor on PostgreSQL in its own group; a malformed batch is dead-lettered on the broker after its good records were stored', async () => {
    const errors: unknown[] = [];
    const { namespace, events, commands, transport, monitor, stored } = await monitorOnBroker({
      broker,
      label: 'audit',
      workflows: [order],
      cleanups,
      onError: (e) => errors.push(e),
    });

    const reporterOf = (service: string) => {
      const reporter = createAuditReporter({
        service,
        sink: createTransportAuditSink({ transport, service }),
      });
      cleanups.push(() => reporter.close());
      return reporter;
    };
    const orders = reporterOf('orders');
    const shipping = reporterOf('shipping');
    const ordersBus = createBus({ service: 'orders', transport, observers: [orders.observe] });
    const shippingBus = createBus({
      service: 'shipping',
      transport,
      observers: [shipping.observe],
    });
    cleanups.push(() => Promise.all([ordersBus.close(), shippingBus.close()]));
    await shippingBus.subscribe({ handlers: [on(OrderPlaced, async () => undefined)] });

    await ordersBus.publish(OrderPlaced, { orderId: 'o-1' }, { correlationId: 'flow-1' });
    await eventually(
      async () => {
        await Promise.all([orders.flush(), shipping.flush()]);
        return (await monitor.flow('flow-1'))?.timeline.length === 2;
      },
      'the publish and its handling in the monitor',
      stored,
    );
    const view = await monitor.flow('flow-1');
    expect(view?.timeline.map((r) => `${r.service} ${r.action}`)).toEqual([
      'orders published',
      'shipping handled',
    ]);
    expect(view?.summary.state).toBe('completed');

    // A batch with one good and one malformed line, then a good batch behind it.
    const good = auditBatchMessage('orders', [
      {
        id: `${namespace}-good`,
        action: 'published',
        service: 'orders',
        messageId: 'm-2',
        type: 'order.placed',
        correlationId: 'flow-2',
        at: Date.now(),
      },
    ]);
    const text = new TextDecoder().decode(good.body);
    await transport.publish([
      { ...good, body: new TextEncoder().encode(`${text}\n{"v":1,"action":"published"}`) },
    ]);
    await transport.publish([
      auditBatchMessage('orders', [
        { ...JSON.parse(text), id: `${namespace}-after`, correlationId: 'flow-3' },
      ]),
    ]);
    await eventually(
      async () => (await monitor.flow('flow-3')) !== undefined,
      'the batch behind the malformed one',
      stored,
    );
    expect(
      (await monitor.flow('flow-2'))?.timeline,
      'the good record of the mixed batch',
    ).toHaveLength(1);
    expect(String(errors.at(-1))).toMatch(/1 malformed of 2 records \(the other 1 were stored\)/);
    expect(await deadLetterCount(broker, events, commands), 'dead letters on the broker').toBe(1);
  });
});

/** Messages in the monitor's dead-letter destination, read from the broker. */
async function deadLetterCount(
  broker: 'kafka' | 'rabbitmq',
  events: ReturnType<typeof createRealTransports>['events'],
  commands: ReturnType<typeof createRealTransports>['commands'],
): Promise<number> {
  if (broker === 'kafka') {
    const topic = events.deadLetterTopicFor('workflow-monitor');
    const lag = await events.lag('eda-audit-dead-letter-count', topic);
    return lag.reduce((sum, p) => sum + p.lag, 0);
  }
  const rabbit = await connectRabbit('eda-audit-dead-letter-count');
  try {
    const channel = await rabbit.createChannel();
    const queue = await channel.checkQueue(commands.names.deadLetterQueue('workflow-monitor'));
    return queue.messageCount;
  } finally {
    await rabbit.close();
  }
}
