// Order-flow processes and their connections: a process started while a service is down waits
// for it (no crash, no restart loop), and one whose connections are cut reconnects by itself.
// The outage is a TCP proxy in front of PostgreSQL or RabbitMQ for the process under test only:
// the machine's services are shared, so they are never stopped.

import { createBus } from '@eda/core';
import { endpoints, uniqueName } from '@eda/test-services';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ShipOrder } from '../src/contracts.js';
import { deleteNamespace } from '../src/delete-namespace.js';
import { openMonitor } from '../src/processes/monitor.js';
import { type ProcessSet, startProcessSet } from '../src/processes/process-set.js';
import { createRealInfrastructure, createRealTransports } from '../src/real-infrastructure.js';
import { createPaymentsService } from '../src/services/payments.js';
import { startTcpProxy, type TcpProxy, viaProxy } from './tcp-proxy.js';

const namespace = uniqueName('order-connections');
const lines: string[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
let monitor: Awaited<ReturnType<typeof openMonitor>>;

/** Polls until `done` holds; bounded by the test's own timeout only. */
async function until(done: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await done())) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** True once a line from `from` (an index into `lines`) on matches. */
const sawLine =
  (pattern: RegExp, from = 0) =>
  () =>
    lines.slice(from).some((line) => pattern.test(line));

/** Whether `promise` has resolved or rejected by now. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  const pending = Symbol('pending');
  const first = await Promise.race([promise.catch(() => undefined), Promise.resolve(pending)]);
  return first !== pending;
}

/** Waits for `wait`, failing at once if the set stops starting (a process exited) first. */
async function whileStarting(starting: Promise<unknown>, wait: Promise<void>): Promise<void> {
  const ended = starting.then(
    () => {
      throw new Error('The process set is running although its service is down.');
    },
    (error: unknown) => {
      throw error;
    },
  );
  await Promise.race([wait, ended]);
}

async function proxyTo(url: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(url);
  const proxy = await startTcpProxy({ host: hostname, port: Number(port) });
  cleanups.push(() => proxy.close());
  return proxy;
}

function startSet(options: Omit<Parameters<typeof startProcessSet>[0], 'namespace' | 'onLine'>) {
  const starting = startProcessSet({
    namespace,
    onLine: (from, line) => lines.push(`[${from}] ${line}`),
    ...options,
  });
  cleanups.push(async () => {
    const set = await starting.catch(() => undefined);
    expect(await set?.stop()).toEqual([]);
  });
  return starting;
}

describe('order-flow processes and their connections', () => {
  beforeAll(async () => {
    monitor = await openMonitor(namespace, (line) => lines.push(`[monitor] ${line}`));
  });

  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') console.log(lines.join('\n'));
    while (cleanups.length) await cleanups.pop()!();
    lines.length = 0;
  });

  afterAll(async () => {
    await monitor.close();
    await deleteNamespace(namespace);
  });

  it('a relay started while PostgreSQL is down waits for it, then relays; its connections cut, it reconnects by itself', async () => {
    const postgres = await proxyTo(endpoints.postgresUrl);
    const starting = startSet({
      services: ['relay'],
      env: { EDA_POSTGRES_URL: viaProxy(endpoints.postgresUrl, postgres) },
    });
    await whileStarting(starting, until(sawLine(/\[relay#1\] waiting for PostgreSQL/)));
    expect(await isSettled(starting)).toBe(false);
    postgres.up();
    const set: ProcessSet = await starting;

    // Payments in this process, straight to PostgreSQL: the same service code, no transport.
    const writer = await createRealInfrastructure({
      namespace,
      dedupe: 'inbox',
      transport: false,
      prepareSchema: false,
    });
    cleanups.push(() => writer.close());
    const payments = createPaymentsService(writer);
    const published = async (n: number) => {
      const counts = await monitor.outbox.counts();
      return counts.published === n && counts.pending === 0;
    };

    await payments.completePayment('conn-1', 100, [{ sku: 'mug', quantity: 1 }]);
    await until(() => published(1));
    const beforeCut = lines.length;
    postgres.cut(); // every connection of the relay (pool and LISTEN) dropped at once
    // The relay felt it (the adapter reports the lost connections) ...
    await until(sawLine(/\[relay#1\] connection trouble/, beforeCut));
    // ... and relays the next payment without being restarted.
    await payments.completePayment('conn-2', 100, [{ sku: 'mug', quantity: 1 }]);
    await until(() => published(2));
    expect(set.unexpectedExits).toEqual([]);
  });

  it('a consumer started while RabbitMQ is down waits for it, then handles commands; its connections cut, it reconnects by itself', async () => {
    const rabbit = await proxyTo(endpoints.amqpUrl);
    const postgres = await proxyTo(endpoints.postgresUrl);
    postgres.up();
    const starting = startSet({
      services: ['shipping'],
      env: {
        EDA_AMQP_URL: viaProxy(endpoints.amqpUrl, rabbit),
        EDA_POSTGRES_URL: viaProxy(endpoints.postgresUrl, postgres),
      },
    });
    // The RabbitMQ transport retries its connection (and says so), for up to its subscribe
    // timeout; then the process's own wait retries the subscribe.
    await whileStarting(
      starting,
      until(sawLine(/\[shipping#1\] (connection trouble|waiting for the brokers)/)),
    );
    expect(await isSettled(starting)).toBe(false); // not running yet, and not exited either
    rabbit.up();
    const set = await starting;

    // Inventory's side of the command, from this process, straight to RabbitMQ.
    const { commands } = createRealTransports(namespace);
    cleanups.push(() => commands.close());
    const inventory = createBus({ service: 'inventory', transport: commands });
    const shipped = async (orderId: string) =>
      (await monitor.ledger()).get(orderId)?.['shipping:shipped'] === 1;

    await inventory.send(ShipOrder, { orderId: 'conn-3', lines: [] }, { subject: 'conn-3' });
    await until(() => shipped('conn-3'));
    const beforeCut = lines.length;
    rabbit.cut();
    postgres.cut();
    await until(sawLine(/\[shipping#1\] connection trouble/, beforeCut));
    await inventory.send(ShipOrder, { orderId: 'conn-4', lines: [] }, { subject: 'conn-4' });
    await until(() => shipped('conn-4'));
    expect(set.unexpectedExits).toEqual([]);
  });
});
