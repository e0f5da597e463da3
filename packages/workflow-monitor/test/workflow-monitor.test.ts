import {
  createBus,
  createInMemoryOutboxStore,
  createInMemoryTransport,
  createOutboxRelay,
  defineEvent,
  on,
} from '@eda/core';
import { describe, expect, it } from 'vitest';
import {
  createAuditReporter,
  createInMemoryMonitorStore,
  createWorkflowMonitor,
  encodeAuditRecord,
  type WorkflowStuck,
} from '../src/index.js';
import { order, rec } from './records.js';
import { until } from './until.js';

const OrderPlaced = defineEvent<{ orderId: string }>({ type: 'order.placed', owner: 'orders' });
const OrderShipped = defineEvent<{ orderId: string }>({ type: 'order.shipped', owner: 'shipping' });

function monitorWithClock() {
  const stuck: WorkflowStuck[] = [];
  const monitor = createWorkflowMonitor({
    store: createInMemoryMonitorStore(),
    workflows: [order],
    onStuck: (s) => void stuck.push(s),
  });
  return { monitor, stuck };
}

describe('workflow monitor', () => {
  it('sees a flow across services through their reporters; a rolled-back outbox write leaves no flow', async () => {
    const { monitor } = monitorWithClock();
    const transport = createInMemoryTransport();
    const outbox = createInMemoryOutboxStore();
    const reporterOf = (service: string) =>
      createAuditReporter({
        service,
        sink: async (records) => void (await monitor.ingest(records)),
        flushDelayMs: 1,
      });
    const orders = reporterOf('orders');
    const shipping = reporterOf('shipping');
    const shippingBus = createBus({
      service: 'shipping',
      transport,
      observers: [shipping.observe],
    });
    await shippingBus.subscribe({
      handlers: [
        on(OrderPlaced, (m) => shippingBus.publish(OrderShipped, { orderId: m.data.orderId })),
      ],
    });
    const ordersBus = createBus({
      service: 'orders',
      transport,
      outbox,
      observers: [orders.observe],
    });
    await outbox.transaction((transaction) =>
      ordersBus.publish(OrderPlaced, { orderId: 'o-1' }, { transaction, id: 'committed' }),
    );
    const rolledBack = outbox.begin();
    await ordersBus.publish(
      OrderPlaced,
      { orderId: 'o-2' },
      { transaction: rolledBack, id: 'rolled-back' },
    );
    rolledBack.rollback();
    await orders.flush();
    expect(await monitor.flows(), 'nothing before the relay published').toEqual([]);

    const relay = createOutboxRelay({
      store: outbox,
      transport,
      purge: false,
      observers: [orders.observeRelay],
    });
    await relay.drain();
    await until(
      async () => (await monitor.flow('committed'))?.summary.state === 'completed',
      'the flow to complete',
    );
    const flow = await monitor.flow('committed');
    expect(flow?.timeline.map((r) => `${r.service} ${r.action} ${r.type}`)).toEqual([
      'orders relayed order.placed',
      'shipping handled order.placed',
      'shipping published order.shipped',
    ]);
    expect(await monitor.flow('rolled-back')).toBeUndefined();
    expect((await monitor.flows()).map((f) => f.correlationId)).toEqual(['committed']);
    await transport.close();
  });

  it('ingests each record once, and refuses malformed ones with their reason', async () => {
    const { monitor } = monitorWithClock();
    const placed = rec('c1', 'order.placed', 1000);
    const result = await monitor.ingest([placed, encodeAuditRecord(placed), '{', { id: 'x' }]);
    expect(result.stored).toBe(1);
    expect(result.duplicates).toBe(1);
    expect(result.refused.map((r) => r.index)).toEqual([2, 3]);
    expect(result.refused[1]?.reason).toMatch(/^Audit record refused: service must be/);
    expect(await monitor.ingest([placed])).toEqual({ stored: 0, duplicates: 1, refused: [] });
    expect((await monitor.flow('c1'))?.timeline).toEqual([placed]);
  });

  it('announces each missed deadline once per flow, naming the step and the service expected to act', async () => {
    const { monitor, stuck } = monitorWithClock();
    await monitor.ingest([rec('c1', 'order.placed', 1000), rec('c2', 'order.placed', 1500)]);
    expect(await monitor.evaluate(1999)).toEqual([]);
    const first = await monitor.evaluate(2000);
    expect(first.map((s) => [s.correlationId, s.deadline.key, s.deadline.step?.service])).toEqual([
      ['c1', 'step:0', 'shipping'],
    ]);
    expect(await monitor.evaluate(2000), 'not again').toEqual([]);
    await monitor.evaluate(2500);
    await monitor.evaluate(7000);
    expect(stuck.map((s) => `${s.correlationId} ${s.deadline.key}`)).toEqual([
      'c1 step:0',
      'c2 step:0',
      'c1 workflow',
      'c2 workflow',
    ]);
    expect(stuck[0]).toMatchObject({ kind: 'workflow.stuck', workflow: 'order', startedAt: 1000 });
    expect((await monitor.flows({ state: 'stuck' })).length).toBe(2);
    await monitor.ingest([rec('c1', 'order.shipped', 8000)]);
    expect((await monitor.flow('c1'))?.summary.state).toBe('completed');
  });

  it('an onStuck that throws goes to onError; the next flows are still announced', async () => {
    const errors: unknown[] = [];
    const announced: string[] = [];
    const monitor = createWorkflowMonitor({
      store: createInMemoryMonitorStore(),
      workflows: [order],
      onStuck: (s) => {
        announced.push(s.correlationId);
        if (s.correlationId === 'c1') throw new Error('pager down');
      },
      onError: (error) => errors.push(error),
    });
    await monitor.ingest([rec('c1', 'order.placed', 1000), rec('c2', 'order.placed', 1000)]);
    expect(await monitor.evaluate(2000)).toHaveLength(2);
    expect(announced).toEqual(['c1', 'c2']);
    expect(String(errors[0])).toMatch(/pager down/);
  });

  it('evaluates in batches until nothing is due, and purges completed flows older than the cut-off', async () => {
    const store = createInMemoryMonitorStore();
    const monitor = createWorkflowMonitor({
      store,
      workflows: [order],
      batchSize: 2,
      clock: () => 100_000,
    });
    await monitor.ingest(
      Array.from({ length: 5 }, (_, i) => rec(`c${i}`, 'order.placed', 1000 + i)),
    );
    expect(await monitor.evaluate(2100)).toHaveLength(5);
    await monitor.ingest([rec('c0', 'order.shipped', 3000), rec('c1', 'order.shipped', 3000)]);
    expect(await monitor.purge({ olderThanMs: 90_000, limit: 1 })).toBe(2);
    expect((await monitor.flows()).map((f) => f.correlationId).sort()).toEqual(['c2', 'c3', 'c4']);
  });
});
