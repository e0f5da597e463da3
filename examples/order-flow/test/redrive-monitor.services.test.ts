// Dead letters on the real brokers, acted on through the monitor's dead-letter desk: a poison
// order (a failure no retry can fix, at the default retry policy) is dead-lettered and its flow
// shows failed; the desk lists it with its reason; once the handler is fixed a redrive delivers
// it exactly once, and the monitor on PostgreSQL shows the flow completed, the redrive in its
// timeline. On Kafka (a topic, where the redrive must reach only the failed group: a second
// group of the topic must not handle it again) and on RabbitMQ.
import { setTimeout as sleep } from 'node:timers/promises';
import { createBus, defineEvent, EdaError, on } from '@eda/core';
import { createKafkaDeadLetterAdmin } from '@eda/kafka';
import { createRabbitMqDeadLetterAdmin } from '@eda/rabbitmq';
import { waitFor } from '@eda/test-suite';
import {
  createAuditReporter,
  createDeadLetterDesk,
  createTransportAuditSink,
  defineWorkflow,
} from '@eda/workflow-monitor';
import { afterEach, describe, expect, it } from 'vitest';
import { realTransportOptions } from '../src/real-infrastructure.js';
import { monitorOnBroker } from './monitor-on-broker.js';

const OrderPlaced = defineEvent<{ orderId: string }>({ type: 'order.placed', owner: 'orders' });
const OrderShipped = defineEvent<{ orderId: string }>({ type: 'order.shipped', owner: 'shipping' });
const order = defineWorkflow({
  name: 'order',
  startsWith: 'order.placed',
  endsWith: { all: ['order.shipped'] },
  deadlineMs: 600_000,
});

/** A failure no retry can fix: dead-lettered at its first delivery, at the default policy. */
class NotShippable extends EdaError {
  constructor(orderId: string) {
    super('ORDER_NOT_SHIPPABLE', `order ${orderId} has no shipping address`, { retryable: false });
  }
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.each(['kafka', 'rabbitmq'] as const)(
  'dead letters on %s through the monitor',
  (broker) => {
    it('a poison order is listed with its reason; after the fix one redrive delivers it once, to its subscription only, and the monitor shows the flow completed', async () => {
      const { namespace, transport, monitor, stored } = await monitorOnBroker({
        broker,
        label: 'redrive',
        workflows: [order],
        cleanups,
      });
      const options = realTransportOptions(namespace);
      const admin =
        broker === 'kafka'
          ? createKafkaDeadLetterAdmin(options.kafka)
          : createRabbitMqDeadLetterAdmin(options.rabbitMq);
      cleanups.push(() => admin.close());
      const desk = createDeadLetterDesk({ admin, monitor });

      const busOf = (service: string) => {
        const reporter = createAuditReporter({
          service,
          sink: createTransportAuditSink({ transport, service }),
          flushDelayMs: 10,
        });
        const bus = createBus({ service, transport, observers: [reporter.observe] });
        cleanups.push(async () => {
          await bus.close();
          await reporter.close();
        });
        return bus;
      };
      const shipping = busOf('shipping');
      const fixed = { yes: false };
      const shipped: string[] = [];
      await shipping.subscribe({
        handlers: [
          on(OrderPlaced, async (m) => {
            if (!fixed.yes) throw new NotShippable(m.data.orderId);
            shipped.push(m.id);
            await shipping.publish(OrderShipped, { orderId: m.data.orderId });
          }),
        ],
      });
      // Another subscription of the same event: it handled the order once and must not again.
      const audited: string[] = [];
      const audit = busOf('audit');
      await audit.subscribe({ handlers: [on(OrderPlaced, (m) => void audited.push(m.id))] });

      const orders = busOf('orders');
      await orders.publish(
        OrderPlaced,
        { orderId: 'o-1' },
        { id: `${namespace}-o1`, correlationId: 'flow-1' },
      );
      const wait = (condition: () => Promise<boolean> | boolean, description: string) =>
        waitFor(condition, {
          idleMs: 60_000,
          intervalMs: 200,
          description,
          progress: () => stored() + shipped.length + audited.length,
        });

      let listed: Awaited<ReturnType<typeof desk.list>> = [];
      await wait(async () => {
        listed = await desk.list('shipping');
        return listed.length === 1;
      }, 'the poison order listed as a dead letter of shipping');
      expect(listed[0]!.reason).toMatchObject({
        code: 'ORDER_NOT_SHIPPABLE',
        message: 'order o-1 has no shipping address',
        attempts: 1,
      });
      expect(listed[0]!.attributes.id).toBe(`${namespace}-o1`);
      await wait(
        async () => (await monitor.flow('flow-1'))?.summary.state === 'failed',
        'the flow failed',
      );

      fixed.yes = true; // the fix is deployed
      const redriven = await desk.redrive('shipping', { handles: [listed[0]!.handle] });
      expect(redriven.map((d) => d.handle)).toEqual([listed[0]!.handle]);
      expect(
        await desk.redrive('shipping', { handles: [listed[0]!.handle] }),
        'a second redrive',
      ).toEqual([]);
      await wait(
        async () => (await monitor.flow('flow-1'))?.summary.state === 'completed',
        'the flow completed after the redrive',
      );
      await wait(() => audited.length >= 1, 'the other subscription handled the order');
      await sleep(3_000); // time for a duplicate delivery to show, if there were one
      expect(shipped, 'shipping handled the redriven order once, with its id').toEqual([
        `${namespace}-o1`,
      ]);
      expect(audited, 'the other subscription handled it once, before the redrive').toEqual([
        `${namespace}-o1`,
      ]);
      expect(await desk.list('shipping')).toEqual([]);
      const timeline = (await monitor.flow('flow-1'))!.timeline.map(
        (r) => `${r.service} ${r.action} ${r.type}`,
      );
      expect(timeline).toEqual(
        expect.arrayContaining([
          'shipping dead-lettered order.placed',
          'eda-monitor redriven order.placed',
          'shipping handled order.placed',
          'shipping published order.shipped',
        ]),
      );
    }, 240_000);
  },
);
