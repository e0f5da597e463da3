// The transactional inbox: the dedupe row commits with the handler's own writes.
import { type BusEvent, createBus, createInMemoryTransport, on } from '@eda/core';
import { expect, it } from 'vitest';
import {
  createPostgresInbox,
  createPostgresOutboxStore,
  currentInboxTransaction,
  ensureInboxSchema,
  inboxTransaction,
} from '../src/index.js';
import { OrderPlaced, until, useTestScope } from './helpers.js';

const scope = useTestScope();

async function setup(retry = { immediateRetries: 0, maxDeliveries: 5, initialDelayMs: 10 }) {
  const db = await scope.open('inbox');
  const pool = db.pool();
  await ensureInboxSchema(pool, { schema: db.schema.name });
  await pool.query('create table applied (order_id text not null, n int not null)');
  const inbox = createPostgresInbox({ pool, schema: db.schema.name });
  const transport = createInMemoryTransport();
  const events: BusEvent[] = [];
  const consumer = createBus({
    service: 'billing',
    transport,
    middleware: [inbox.middleware],
    retry,
    observers: [(event) => events.push(event)],
  });
  const orders = createBus({ service: 'orders', transport });
  const appliedRows = async () =>
    (await pool.query('select order_id, n from applied order by n')).rows;
  return { pool, inbox, transport, consumer, orders, events, appliedRows };
}

it('applies a message once: a redelivered duplicate is skipped with outcome duplicate', async () => {
  const { consumer, orders, events, appliedRows } = await setup();
  await consumer.subscribe({
    handlers: [
      on(OrderPlaced, async (message) => {
        await inboxTransaction().query('insert into applied values ($1, $2)', [
          message.data.orderId,
          message.data.n,
        ]);
      }),
    ],
  });
  await orders.publish(OrderPlaced, { orderId: 'o-1', n: 1 }, { id: 'same-id' });
  await orders.publish(OrderPlaced, { orderId: 'o-1', n: 1 }, { id: 'same-id' });
  await orders.publish(OrderPlaced, { orderId: 'o-2', n: 2 });
  await until(() => events.filter((e) => e.kind === 'consumed').length === 3, 'three deliveries');
  expect(await appliedRows()).toEqual([
    { order_id: 'o-1', n: 1 },
    { order_id: 'o-2', n: 2 },
  ]);
  const outcomes = events.flatMap((e) => (e.kind === 'consumed' ? [e.outcome] : []));
  expect(outcomes.sort()).toEqual(['duplicate', 'handled', 'handled']);
});

it('rolls back the inbox row and the handler writes when the handler fails, so the retry is processed', async () => {
  const { consumer, orders, events, appliedRows, pool, inbox } = await setup();
  let calls = 0;
  await consumer.subscribe({
    handlers: [
      on(OrderPlaced, async (message) => {
        calls += 1;
        await inboxTransaction().query('insert into applied values ($1, $2)', [
          message.data.orderId,
          calls,
        ]);
        if (calls === 1) throw new Error('payment service timed out');
      }),
    ],
  });
  await orders.publish(OrderPlaced, { orderId: 'o-1', n: 1 });
  await until(() => events.some((e) => e.kind === 'consumed'), 'the retried delivery');
  expect(calls).toBe(2);
  expect(events.map((e) => e.kind)).toEqual(['retry', 'consumed']);
  expect(await appliedRows()).toEqual([{ order_id: 'o-1', n: 2 }]);
  const { rows } = await pool.query(
    `select consumer, message_source, message_type from ${inbox.table}`,
  );
  expect(rows).toEqual([
    { consumer: 'billing', message_source: 'orders', message_type: 'order.placed' },
  ]);
});

it('commits what the handler publishes through the outbox with the inbox row, and nothing if it fails', async () => {
  const { consumer, orders, events, pool, transport } = await setup({
    immediateRetries: 0,
    maxDeliveries: 1,
    initialDelayMs: 10,
  });
  const outbox = createPostgresOutboxStore({ pool, schema: scope.db.schema.name });
  scope.track(outbox);
  const billing = createBus({ service: 'billing', transport, outbox, middleware: [] });
  const Invoiced = (await import('@eda/core')).defineEvent<{ orderId: string }>({
    type: 'invoice.created',
    owner: 'billing',
  });
  await consumer.subscribe({
    handlers: [
      on(OrderPlaced, async (message) => {
        await billing.publish(
          Invoiced,
          { orderId: message.data.orderId },
          { transaction: inboxTransaction() },
        );
        if (message.data.orderId === 'bad') throw new Error('cannot invoice');
      }),
    ],
  });
  await orders.publish(OrderPlaced, { orderId: 'good', n: 1 });
  await orders.publish(OrderPlaced, { orderId: 'bad', n: 2 });
  await until(
    () => events.filter((e) => e.kind === 'consumed' || e.kind === 'dead-lettered').length === 2,
    'both messages settled',
  );
  const { rows } = await pool.query(
    `select convert_from(payload, 'utf8') as payload, headers->>'causationid' as cause from eda_outbox`,
  );
  expect(rows).toHaveLength(1);
  expect(JSON.parse(rows[0].payload)).toEqual({ orderId: 'good' });
  expect(rows[0].cause).toBeTruthy();
  expect((await pool.query('select count(*)::int as n from eda_inbox')).rows[0].n).toBe(1);
});

it('runs concurrent deliveries of one message once: the second waits for the first transaction', async () => {
  const { consumer, orders, events, appliedRows } = await setup();
  await consumer.subscribe({
    concurrency: 4,
    handlers: [
      on(OrderPlaced, async (message) => {
        await inboxTransaction().query('insert into applied values ($1, $2)', [
          message.data.orderId,
          message.data.n,
        ]);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }),
    ],
  });
  await Promise.all(
    [1, 2, 3, 4].map(() => orders.publish(OrderPlaced, { orderId: 'same', n: 1 }, { id: 'dup' })),
  );
  await until(() => events.filter((e) => e.kind === 'consumed').length === 4, 'four deliveries');
  expect(await appliedRows()).toEqual([{ order_id: 'same', n: 1 }]);
});

it('exposes the transaction only inside an inbox-handled message', async () => {
  await setup();
  expect(currentInboxTransaction()).toBeUndefined();
  expect(() => inboxTransaction()).toThrow(/outside a handler run by the inbox middleware/);
});

it('purges old rows in bounded batches and on a schedule', async () => {
  const { pool, inbox } = await setup();
  await pool.query(
    `insert into eda_inbox (consumer, message_source, message_id, message_type, handled_at)
     select 'c', 's', 'id-' || g, 't', now() - interval '8 days' from generate_series(1, 25) g`,
  );
  await pool.query(
    `insert into eda_inbox (consumer, message_source, message_id, message_type) values ('c', 's', 'recent', 't')`,
  );
  expect(await inbox.purge({ olderThanMs: 7 * 24 * 3600_000, limit: 10 })).toBe(10);
  const retention = inbox.startRetention({
    olderThanMs: 7 * 24 * 3600_000,
    everyMs: 50,
    batchSize: 4,
  });
  await until(
    async () => (await pool.query('select count(*)::int as n from eda_inbox')).rows[0].n === 1,
    'the scheduled purge',
  );
  await retention.stop();
  expect((await pool.query('select message_id from eda_inbox')).rows).toEqual([
    { message_id: 'recent' },
  ]);
  await expect(inbox.purge({ olderThanMs: -1, limit: 1 })).rejects.toThrow(/purge needs/);
});
