// The dead-letter desk end to end on the in-memory transport: a poison order fails shipping, the
// flow shows failed; the operator lists and inspects it from the CLI and the page, redrives it
// once the handler is fixed, and the flow completes with the redrive in its timeline. A post
// from another site, or for a subscription the monitor does not watch, does nothing.
import type { AddressInfo } from 'node:net';
import {
  createBus,
  createInMemoryDeadLetterAdmin,
  createInMemoryTransport,
  defineEvent,
  on,
} from '@eda/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createAuditReporter,
  createDeadLetterDesk,
  createInMemoryMonitorStore,
  createMonitorServer,
  createWorkflowMonitor,
  runMonitorCli,
  sequenceDiagram,
} from '../src/index.js';
import { order } from './records.js';
import { until } from './until.js';

const OrderPlaced = defineEvent<{ orderId: string }>({ type: 'order.placed', owner: 'orders' });
const OrderShipped = defineEvent<{ orderId: string }>({ type: 'order.shipped', owner: 'shipping' });

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** Orders and shipping on one in-memory broker, reported to a monitor; shipping fails while `broken`. */
async function system() {
  const store = createInMemoryMonitorStore();
  // Records the monitor took: the waits fail on a stall of these, not on a total time.
  let ingested = 0;
  const progress = () => ingested;
  const monitor = createWorkflowMonitor({ store, workflows: [order] });
  const transport = createInMemoryTransport();
  closers.push(() => transport.close());
  const reporterOf = (service: string) =>
    createAuditReporter({
      service,
      sink: async (records) => {
        ingested += records.length;
        await monitor.ingest(records);
      },
      flushDelayMs: 1,
    });
  const shipping = reporterOf('shipping');
  const orders = reporterOf('orders');
  const broken = { yes: true };
  const shippingBus = createBus({
    service: 'shipping',
    transport,
    retry: { maxDeliveries: 1 },
    observers: [shipping.observe],
  });
  await shippingBus.subscribe({
    handlers: [
      on(OrderPlaced, async (m) => {
        if (broken.yes) throw new Error(`order ${m.data.orderId} has no <address>`);
        await shippingBus.publish(OrderShipped, { orderId: m.data.orderId });
      }),
    ],
  });
  const ordersBus = createBus({ service: 'orders', transport, observers: [orders.observe] });
  const desk = createDeadLetterDesk({
    admin: createInMemoryDeadLetterAdmin(transport.broker),
    monitor,
  });
  return { monitor, store, ordersBus, broken, desk, progress };
}

describe('dead-letter desk', () => {
  it('lists, shows and redrives a dead letter from the CLI; the flow goes from failed to completed with the redrive in its timeline', async () => {
    const { monitor, store, ordersBus, broken, desk, progress } = await system();
    await ordersBus.publish(OrderPlaced, { orderId: 'o-1' }, { id: 'placed-1' });
    await until(
      async () => (await monitor.flow('placed-1'))?.summary.state === 'failed',
      'the flow to fail',
      progress,
    );
    // The monitor may hear of the dead letter (the consumer's observer) before the broker stored it.
    await until(
      async () => (await desk.list('shipping')).length === 1,
      'the stored dead letter',
      progress,
    );
    const printed: string[] = [];
    const cli = (...argv: string[]) => {
      printed.length = 0;
      return runMonitorCli(argv, store, (text) => void printed.push(text), desk);
    };

    expect(await cli('dead-letters', 'shipping')).toBe(0);
    const [handle] = printed[0]!.split(/\s+/);
    expect(printed[0]).toContain(
      'EDA_HANDLER after 1 attempt(s)  order.placed placed-1 (flow placed-1): order o-1 has no <address>',
    );
    expect(await cli('dead-letter', 'shipping', handle!)).toBe(0);
    expect(printed[0]).toContain('from:        order.placed');
    expect(printed[0]).toContain('"orderId": "o-1"');
    expect(await cli('dead-letter', 'shipping', 'no-such-handle')).toBe(1);
    expect(await cli('redrive', 'shipping')).toBe(2);
    expect(printed[0]).toContain('exactly one of --handle');

    broken.yes = false; // the fix is deployed
    expect(await cli('redrive', 'shipping', '--handle', handle!)).toBe(0);
    expect(printed).toEqual([`redriven 1: ${handle}`]);
    await until(
      async () => (await monitor.flow('placed-1'))?.summary.state === 'completed',
      'the flow to complete',
      progress,
    );
    const flow = await monitor.flow('placed-1');
    const seen = flow!.timeline.map((r) => `${r.service} ${r.action} ${r.type}`);
    expect(seen.slice(0, 2)).toEqual([
      'orders published order.placed',
      'shipping dead-lettered order.placed',
    ]);
    // The redrive is recorded at the time it began; the handling it caused starts then or later.
    expect(seen.slice(2).sort()).toEqual([
      'eda-monitor redriven order.placed',
      'shipping handled order.placed',
      'shipping published order.shipped',
    ]);
    const at = (action: string) => flow!.timeline.find((r) => r.action === action)!.at;
    expect(at('redriven')).toBeLessThanOrEqual(at('handled'));
    expect(sequenceDiagram(flow!.timeline)).toContain(
      'Note over s3: redriven the dead letter order.placed of shipping',
    );
    expect(await cli('dead-letters', 'shipping')).toBe(0);
    expect(printed).toEqual(['no dead letters']);
    expect(await cli('discard', 'shipping', handle!)).toBe(1);
  });

  it('the page lists dead letters escaped, its buttons redrive and discard, and refuses posts from another site or for a subscription it does not watch', async () => {
    const { monitor, store, ordersBus, broken, desk, progress } = await system();
    for (const id of ['placed-1', 'placed-2'])
      await ordersBus.publish(OrderPlaced, { orderId: id }, { id });
    await until(
      async () => (await desk.list('shipping')).length === 2,
      'two dead letters',
      progress,
    );
    const server = createMonitorServer({
      store,
      deadLetters: { desk, subscriptions: ['shipping'] },
    });
    closers.push(() => server.close());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const post = (
      path: string,
      fields: Record<string, string>,
      headers: Record<string, string> = {},
    ) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(fields).toString(),
      });

    const listed = await (await fetch(`${base}/dead-letters`)).text();
    expect(listed).toContain('order placed-1 has no &lt;address&gt;');
    expect(listed).not.toContain('<address>');
    expect(listed).toContain('<a href="/flows/placed-1">placed-1</a>');
    expect(await (await fetch(`${base}/`)).text()).toContain(
      '<a href="/dead-letters">dead letters</a>',
    );
    const [first, second] = await desk.list('shipping');

    const foreign = await post(
      '/dead-letters/redrive',
      { subscription: 'shipping', handle: first!.handle },
      { origin: 'http://evil.example' },
    );
    expect(foreign.status).toBe(403);
    const unwatched = await post('/dead-letters/redrive', {
      subscription: 'billing',
      handle: first!.handle,
    });
    expect(decodeURIComponent(unwatched.headers.get('location') ?? '')).toContain(
      'does not watch subscription "billing"',
    );
    expect(await desk.list('shipping'), 'nothing was done').toHaveLength(2);

    broken.yes = false;
    const redrove = await post('/dead-letters/redrive', {
      subscription: 'shipping',
      handle: first!.handle,
    });
    expect(redrove.status).toBe(303);
    expect(decodeURIComponent(redrove.headers.get('location') ?? '')).toContain(
      `Redrove 1 dead letter(s) of shipping: ${first!.handle}`,
    );
    const discarded = await post('/dead-letters/discard', {
      subscription: 'shipping',
      handle: second!.handle,
    });
    expect(decodeURIComponent(discarded.headers.get('location') ?? '')).toContain(
      `Discarded ${second!.handle} of shipping.`,
    );
    await until(
      async () => (await monitor.flow('placed-1'))?.summary.state === 'completed',
      'the redriven flow to complete',
      progress,
    );
    expect((await monitor.flow('placed-2'))?.summary.state, 'the discarded one stays failed').toBe(
      'failed',
    );
    expect((await monitor.flow('placed-2'))?.timeline.map((r) => r.action)).toContain('discarded');
    const api = (await (await fetch(`${base}/api/dead-letters`)).json()) as Record<
      string,
      unknown[]
    >;
    expect(api).toEqual({ shipping: [] });
  });
});
