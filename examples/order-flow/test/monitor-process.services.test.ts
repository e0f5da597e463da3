// The workflow monitor as its own process, watching the order flow's processes on the real
// services: with shipping stopped, every order is reported stuck at the shipping step once; the
// monitor is SIGKILLed and started again (its state is in PostgreSQL), shipping comes back, and
// the monitor shows every flow completed, without announcing any deadline a second time.
import { setTimeout as sleep } from 'node:timers/promises';
import { uniqueName } from '@eda/test-services';
import { waitFor } from '@eda/test-suite';
import { createPostgresMonitorStore } from '@eda/workflow-monitor';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deleteNamespace } from '../src/delete-namespace.js';
import { openMonitor } from '../src/processes/monitor.js';
import { type ProcessSet, startProcessSet } from '../src/processes/process-set.js';
import { FLOW_SERVICES, type OrderRequest } from '../src/processes/services.js';
import { schemaOf } from '../src/real-infrastructure.js';

const namespace = uniqueName('monitor-process');
const ORDERS = 4;
// Long enough that billing, which runs, meets it on a loaded machine; the shipping step is
// what must be missed.
const STEP_DEADLINE_MS = 20_000;
const lines: string[] = [];
const stuckLines: string[] = [];
let set: ProcessSet | undefined;
let harness: Awaited<ReturnType<typeof openMonitor>> | undefined;

afterAll(async () => {
  try {
    if (set) await set.stop();
  } finally {
    await harness?.close();
    await deleteNamespace(namespace).catch((error: unknown) => console.log(`cleanup: ${error}`));
  }
});

afterEach(({ task }) => {
  if (task.result?.state === 'fail') console.log(lines.join('\n'));
});

describe('workflow monitor as its own process', () => {
  it('reports each order stuck at the shipping step once while shipping is down, keeps that across its own SIGKILL, and shows every flow completed once shipping is back', async () => {
    harness = await openMonitor(namespace, (line) => lines.push(`[harness] ${line}`));
    set = await startProcessSet({
      namespace,
      services: [...FLOW_SERVICES, 'monitor'],
      env: {
        EDA_ORDER_FLOW_STEP_DEADLINE_MS: String(STEP_DEADLINE_MS),
        EDA_ORDER_FLOW_DEADLINE_MS: String(3_600_000),
        EDA_ORDER_FLOW_TRACING: 'off',
      },
      onLine: (from, line) => {
        lines.push(`[${from}] ${line}`);
        if (line.startsWith('@stuck ')) stuckLines.push(line);
      },
    });
    await set.kill('shipping#1'); // the shipping service is down
    const orders: OrderRequest[] = Array.from({ length: ORDERS }, (_, i) => ({
      orderId: `stuck-${i + 1}`,
      amountCents: 1_000 + i,
      lines: [{ sku: 'mug', quantity: 1 }],
    }));
    for (const order of orders) await set.placeOrder(order);

    // Billing runs, but on a loaded machine it can miss its step deadline too, and the monitor
    // rightly says so: the case holds the shipping step, and every deadline, to one line each.
    const atShipping = () =>
      stuckLines.filter((line) => line.includes(' step:0 ship.order by shipping '));
    await waitFor(() => atShipping().length >= ORDERS, {
      idleMs: STEP_DEADLINE_MS + 60_000,
      description: () => `${ORDERS} flows stuck at shipping (have: ${stuckLines.join(' | ')})`,
      progress: () => lines.length,
    });
    const flowsOf = (found: readonly string[]) => found.map((line) => line.split(' ')[1]);
    expect(new Set(flowsOf(atShipping())).size, 'one flow stuck at shipping per order').toBe(
      ORDERS,
    );
    for (const line of atShipping())
      expect(line, 'waiting for shipping to ship').toMatch(/ missing order\.shipped/);

    // The monitor dies; its successor reads the flows and their noticed deadlines from PostgreSQL.
    await set.kill('monitor#1');
    await set.restart('monitor#1');
    await set.restart('shipping#1'); // shipping is back

    const store = createPostgresMonitorStore({ pool: harness.pool, schema: schemaOf(namespace) });
    let completed = 0;
    await waitFor(
      async () => {
        completed = (await store.flows({ state: 'completed' })).length;
        return completed === ORDERS;
      },
      {
        idleMs: 120_000,
        description: () => `${ORDERS} completed flows (have ${completed})`,
        progress: () => lines.length,
      },
    );
    // Several evaluations after the end: a restarted monitor must not announce again.
    await sleep(3_000);
    const deadlines = stuckLines.map((line) => line.split(' ').slice(1, 3).join(' '));
    expect(deadlines.length, 'each missed deadline announced once, across the restart').toBe(
      new Set(deadlines).size,
    );
    expect(atShipping(), 'no shipping deadline announced again after the restart').toHaveLength(
      ORDERS,
    );
    const flows = await store.flows({});
    expect(flows.map((f) => f.state)).toEqual(Array(ORDERS).fill('completed'));
    expect(new Set(flows.map((f) => f.correlationId))).toEqual(new Set(flowsOf(atShipping())));
    expect(set.unexpectedExits).toEqual([]);
  }, 600_000);
});
