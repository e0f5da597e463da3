// The order flow as separate processes, each exporting its spans to the real Zipkin of
// `pnpm services:up` under its own service name: one order is one trace there, from the
// payment's outbox write through the relay to every handler, read back from Zipkin's HTTP API.
import { isDeepStrictEqual } from 'node:util';
import { readEndpoints, uniqueName } from '@eda/test-services';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deleteNamespace } from '../src/delete-namespace.js';
import { ORDER_END_STATE } from '../src/ledger.js';
import { openMonitor } from '../src/processes/monitor.js';
import { type ProcessSet, startProcessSet } from '../src/processes/process-set.js';

/** A span as Zipkin's v2 API returns it. */
interface ZipkinSpan {
  readonly traceId: string;
  readonly id: string;
  readonly parentId?: string;
  readonly name: string;
  readonly kind?: string;
  readonly localEndpoint?: { readonly serviceName?: string };
  readonly tags?: Record<string, string>;
}

const zipkin = readEndpoints().zipkinUrl.replace(/\/$/, '');
const namespace = uniqueName('order-zipkin');
const lines: string[] = [];
let set: ProcessSet | undefined;
let monitor: Awaited<ReturnType<typeof openMonitor>> | undefined;

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(`${zipkin}${path}`);
  if (!response.ok) throw new Error(`Zipkin ${path}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

/**
 * Polls `read` until `done` holds; fails when the value has not changed for `idleMs` (no
 * progress), so a slow machine only makes it slower.
 */
async function untilSettled<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  idleMs = 30_000,
): Promise<T> {
  let last = '';
  let since = Date.now();
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    const now = JSON.stringify(value);
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since > idleMs) {
      throw new Error(`no progress for ${idleMs} ms; last value: ${now.slice(0, 2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const servicesOf = (trace: readonly ZipkinSpan[]) =>
  [...new Set(trace.map((s) => s.localEndpoint?.serviceName ?? '?'))].sort();

describe('one order in Zipkin', () => {
  beforeAll(async () => {
    const health = await fetch(`${zipkin}/health`).catch((error: unknown) => error as Error);
    if (health instanceof Error || !health.ok)
      throw new Error(
        `Zipkin does not answer at ${zipkin}/health: run \`pnpm services:up\` (it starts Zipkin), or set EDA_ZIPKIN_URL.`,
      );
    monitor = await openMonitor(namespace, (line) => lines.push(`[monitor] ${line}`));
    set = await startProcessSet({
      namespace,
      env: { EDA_ORDER_FLOW_TRACING: process.env.EDA_ORDER_FLOW_TRACING ?? 'on' },
      onLine: (from, line) => lines.push(`[${from}] ${line}`),
    });
  });

  afterAll(async () => {
    try {
      if (set) expect(await set.stop()).toEqual([]);
    } finally {
      await monitor?.close();
      await deleteNamespace(namespace);
    }
  });

  afterEach(({ task }) => {
    if (task.result?.state === 'fail') console.log(lines.join('\n'));
  });

  it('shows the order as one trace with spans from payments, the relay and every consumer', async () => {
    const orderId = `${namespace}-1`;
    await set!.placeOrder({ orderId, amountCents: 4_200, lines: [{ sku: 'mug', quantity: 2 }] });
    await untilSettled(
      async () => (await monitor!.ledger()).get(orderId) ?? {},
      (effects) => isDeepStrictEqual(effects, ORDER_END_STATE),
      // Consumer processes that joined their Kafka groups just now may wait out a rebalance
      // on a busy broker before their first fetch: no progress for this long is a stall.
      120_000,
    );

    // The inventory's process span names this namespace's topic: it finds the order's trace.
    const spanName = `process ${namespace}.payment.completed`;
    const query = `/api/v2/traces?serviceName=inventory&spanName=${encodeURIComponent(spanName)}&limit=10&lookback=3600000`;
    const [found] = await untilSettled(
      () => getJson<ZipkinSpan[][]>(query),
      (traces) => traces.length === 1,
    );
    const traceId = found![0]!.traceId;
    // Spans arrive in batches from six processes: wait until the notifications, last in the
    // flow, have reported theirs, and the count stops growing.
    const trace = await untilSettled(
      () => getJson<ZipkinSpan[]>(`/api/v2/trace/${traceId}`),
      (spans) =>
        ['payments', 'relay', 'inventory', 'billing', 'shipping', 'notifications'].every((s) =>
          servicesOf(spans).includes(s),
        ),
    );
    const services = servicesOf(trace);
    console.log(
      `Zipkin trace ${traceId} of order ${orderId}: ${trace.length} spans from ${services.join(', ')}; ${[...new Set(trace.map((s) => `${s.localEndpoint?.serviceName}: ${s.name}`))].sort().join('; ')}`,
    );
    expect(services).toEqual(
      expect.arrayContaining(['payments', 'relay', 'inventory', 'shipping', 'billing']),
    );
    const byName = (service: string, prefix: string) =>
      trace.filter((s) => s.localEndpoint?.serviceName === service && s.name.startsWith(prefix));
    const [create] = byName('payments', 'create payment.completed');
    const [send] = byName('relay', `send ${namespace}.payment.completed`);
    const [process] = byName('inventory', `process ${namespace}.payment.completed`);
    expect(create?.kind).toBe('PRODUCER');
    expect(send?.parentId, 'the relay publishes in the creation context').toBe(create?.id);
    expect(process?.kind).toBe('CONSUMER');
    expect(process?.parentId, 'the consumer continues the producer').toBe(create?.id);
    expect(process?.tags?.['messaging.system']).toBe('kafka');
    expect(byName('shipping', `process ${namespace}.ship.order`)).toHaveLength(1);
    expect(set!.unexpectedExits).toEqual([]);
  }, 300_000); // a cap only: the waits above fail on no progress
});
