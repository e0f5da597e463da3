// Audit records over a transport: services publish batches, the monitor consumes them in its
// own group. Batches are stored once, wait while the store is down, and malformed ones go to
// the dead-letter destination with their reason after their good records were stored.
import {
  createBus,
  createInMemoryTransport,
  defineEvent,
  on,
  readDeadLetterReason,
} from '@eda/core';
import { describe, expect, it } from 'vitest';
import {
  AUDIT_RECORDS_TYPE,
  auditBatchMessage,
  consumeAuditRecords,
  createAuditReporter,
  createInMemoryMonitorStore,
  createTransportAuditSink,
  createWorkflowMonitor,
  type WorkflowMonitor,
} from '../src/index.js';
import { order, rec } from './records.js';
import { until } from './until.js';

const OrderPlaced = defineEvent<{ orderId: string }>({ type: 'order.placed', owner: 'orders' });

function newMonitor() {
  return createWorkflowMonitor({ store: createInMemoryMonitorStore(), workflows: [order] });
}

describe('audit records over a transport', () => {
  it('carries what services did to a monitor consuming in its own group; the batches themselves are not audited', async () => {
    const transport = createInMemoryTransport();
    const monitor = newMonitor();
    const consumer = await consumeAuditRecords({ transport, monitor });
    const reporterOf = (service: string) =>
      createAuditReporter({ service, sink: createTransportAuditSink({ transport, service }) });
    const orders = reporterOf('orders');
    const shipping = reporterOf('shipping');
    const ordersBus = createBus({ service: 'orders', transport, observers: [orders.observe] });
    const shippingBus = createBus({
      service: 'shipping',
      transport,
      observers: [shipping.observe],
    });
    await shippingBus.subscribe({ handlers: [on(OrderPlaced, async () => undefined)] });
    try {
      await ordersBus.publish(OrderPlaced, { orderId: 'o-1' }, { correlationId: 'flow-1' });
      await until(async () => {
        await Promise.all([orders.flush(), shipping.flush()]);
        const view = await monitor.flow('flow-1');
        return view?.timeline.length === 2;
      }, 'the publish and the handling in the monitor');
      const view = await monitor.flow('flow-1');
      expect(view?.timeline.map((r) => `${r.service} ${r.action} ${r.type}`)).toEqual([
        'orders published order.placed',
        'shipping handled order.placed',
      ]);
      expect(view?.summary.state).toBe('running');
      const types = (await monitor.flows()).flatMap((f) => f.correlationId);
      expect(types, 'no flow of the audit batches themselves').toEqual(['flow-1']);
    } finally {
      await Promise.all([ordersBus.close(), shippingBus.close(), consumer.close()]);
      await Promise.all([orders.close(), shipping.close()]);
      await transport.close();
    }
  });

  it('keeps a batch while the monitor store is down and stores it once it is back; nothing is dead-lettered', async () => {
    const transport = createInMemoryTransport();
    const inner = newMonitor();
    let failuresLeft = 3;
    const monitor: Pick<WorkflowMonitor, 'ingest'> = {
      async ingest(records) {
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          throw new Error('monitor store unreachable');
        }
        return inner.ingest(records);
      },
    };
    const errors: unknown[] = [];
    const consumer = await consumeAuditRecords({
      transport,
      monitor,
      onError: (error) => errors.push(error),
    });
    try {
      await transport.publish([auditBatchMessage('orders', [rec('flow-2', 'order.placed', 1)])]);
      await until(
        async () => (await inner.flow('flow-2')) !== undefined,
        'the batch stored',
        () => errors.length, // each failed try of the store is progress
        10_000,
      );
      expect(errors).toHaveLength(3);
      expect(transport.broker.deadLetters('workflow-monitor')).toEqual([]);
    } finally {
      await consumer.close();
      await transport.close();
    }
  });

  it('stores the good records of a batch with malformed lines, then dead-letters it with the reason; a body that is not text too', async () => {
    const transport = createInMemoryTransport();
    const monitor = newMonitor();
    const consumer = await consumeAuditRecords({ transport, monitor, onError: () => undefined });
    try {
      const good = auditBatchMessage('orders', [rec('flow-3', 'order.placed', 1)]);
      const mixed = {
        ...good,
        body: new TextEncoder().encode(
          `${new TextDecoder().decode(good.body)}\n{"v":1,"id":"x"}\nnot json`,
        ),
      };
      const binary = {
        attributes: { ...good.attributes, id: 'binary-batch' },
        body: new Uint8Array([0xff, 0xfe, 0x00]),
      };
      await transport.publish([mixed, binary]);
      await until(
        () => transport.broker.deadLetters('workflow-monitor').length === 2,
        'both batches dead-lettered',
      );
      expect((await monitor.flow('flow-3'))?.timeline).toHaveLength(1);
      const reasons = transport.broker
        .deadLetters('workflow-monitor')
        .map((letter) => readDeadLetterReason(letter.headers)?.message);
      expect(reasons[0]).toMatch(
        /2 malformed of 3 records \(the other 1 were stored\): line 2: .+; line 3: /,
      );
      expect(reasons[1]).toBe('Audit batch refused: the body is not UTF-8 text.');
      // The consumer keeps going.
      await transport.publish([auditBatchMessage('orders', [rec('flow-4', 'order.placed', 1)])]);
      await until(async () => (await monitor.flow('flow-4')) !== undefined, 'a later batch');
    } finally {
      await consumer.close();
      await transport.close();
    }
  });

  it('refuses an empty service and bad consumer options', async () => {
    const transport = createInMemoryTransport();
    expect(() => createTransportAuditSink({ transport, service: '' })).toThrow(/name the service/);
    await expect(
      consumeAuditRecords({ transport, monitor: newMonitor(), concurrency: 0 }),
    ).rejects.toThrow(/concurrency is 0/);
    expect(AUDIT_RECORDS_TYPE).toBe('eda.audit.records');
    await transport.close();
  });
});
