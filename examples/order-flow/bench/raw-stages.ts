// The baseline: each stage of the measured path written by hand with the raw clients (pg,
// kafkajs), no @eda code, each timed alone. (a) a payment's ledger row and its event row
// committed in one transaction, one order at a time as the payments process does; (b) a relay
// that claims unpublished rows, sends them with kafkajs and marks them published; (c) a kafkajs
// consumer that claims the event in an inbox table and writes the reservation row in the same
// transaction; (c+) the same consumer doing all inventory does in that transaction, that is also
// sending its StockReserved event (kafkajs, acks -1) and its ShipOrder command (amqplib, confirmed).
// Round r's events go to a topic of their own, consumed by a group of its own per consumer.
import { randomUUID } from 'node:crypto';
import { connectRabbit, createKafka } from '@eda/test-services';
import type { Producer } from 'kafkajs';
import pg from 'pg';
import { stampCommits } from './commit-stamps.js';
import { waitForCount } from './wait-for-count.js';

/** Records per relay claim: the outbox relay's default batch size. */
export const RAW_RELAY_BATCH = 100;
/** kafkajs partitions processed at once: every partition, as the Kafka transport does. */
const PARTITIONS = 3;

export interface RawStages {
  /** (a) Commits each order's payment row and event row, one transaction per order. Returns orders/s. */
  commitPayments(orderIds: readonly string[]): Promise<number>;
  /** (b) Publishes every unpublished event to round `round`'s topic. Returns events/s. */
  relay(round: number): Promise<number>;
  /**
   * (c) Consumes `count` events of round `round` (inbox claim + ledger row), and with `sends`
   * (c+) also sends inventory's event and command in the same transaction. Returns events/s.
   */
  consume(round: number, count: number, sends: boolean): Promise<number>;
  close(): Promise<void>;
}

const rawTablesSql = (schema: string) => `
create table "${schema}".raw_ledger (
  seq bigint generated always as identity primary key,
  service text not null,
  order_id text not null,
  effect text not null,
  recorded_at timestamptz not null default now()
);
create table "${schema}".raw_outbox (
  seq bigint generated always as identity primary key,
  id uuid not null,
  partition_key text not null,
  payload jsonb not null,
  published_at timestamptz
);
create index on "${schema}".raw_outbox (seq) where published_at is null;
create table "${schema}".raw_inbox (
  consumer text not null,
  message_id text not null,
  handled_at timestamptz not null default now(),
  primary key (consumer, message_id)
)`;

/** BEGIN, `fn`, COMMIT on one pooled connection (ROLLBACK if `fn` throws), with pg alone. */
async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>) {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback');
    throw error;
  } finally {
    client.release();
  }
}

/** Creates the raw tables in `schema` (which exists) and connects the raw clients. */
export async function openRawStages(options: {
  readonly postgresUrl: string;
  readonly schema: string;
  readonly namespace: string;
}): Promise<RawStages> {
  const { postgresUrl, schema, namespace } = options;
  // The same pool size as each service process (real-infrastructure.ts).
  const pool = new pg.Pool({ connectionString: postgresUrl, max: 5 });
  await pool.query(rawTablesSql(schema));
  // The same commit stamping as the services' ledger, so both pay for it.
  await stampCommits(pool, schema, 'raw_ledger');
  const kafka = createKafka(4, { clientId: 'e2e-bench-raw' });
  const admin = kafka.admin();
  await admin.connect();
  const producer: Producer = kafka.producer();
  await producer.connect();
  const topicOf = (round: number) => `${namespace}.raw-payment-completed.r${round}`;
  const reservedTopic = `${namespace}.raw-stock-reserved`;
  await admin.createTopics({
    topics: [{ topic: reservedTopic, numPartitions: PARTITIONS }],
    waitForLeaders: true,
  });
  const rabbit = await connectRabbit('e2e-bench-raw');
  const commands = await rabbit.createConfirmChannel();
  const shipQueue = `${namespace}.raw-ship-order`;
  await commands.assertQueue(shipQueue, { durable: true });
  /** Inventory's two outputs: StockReserved to Kafka, ShipOrder to its queue, each acknowledged. */
  const sendOutputs = async (orderId: string, body: string) => {
    await producer.send({
      topic: reservedTopic,
      acks: -1,
      messages: [
        { key: orderId, value: body, headers: { id: randomUUID(), type: 'stock.reserved' } },
      ],
    });
    await new Promise<void>((resolve, reject) =>
      commands.sendToQueue(
        shipQueue,
        Buffer.from(body),
        { persistent: true, messageId: randomUUID(), type: 'ship.order' },
        (error) => (error ? reject(error) : resolve()),
      ),
    );
  };
  const ledgerSql = `insert into "${schema}".raw_ledger (service, order_id, effect) values ($1, $2, $3)`;

  return {
    async commitPayments(orderIds) {
      const outboxSql = `insert into "${schema}".raw_outbox (id, partition_key, payload) values ($1, $2, $3)`;
      const started = performance.now();
      for (const orderId of orderIds) {
        await inTransaction(pool, async (client) => {
          await client.query(ledgerSql, ['payments', orderId, 'paid']);
          const data = { orderId, amountCents: 990, lines: [{ sku: 'mug', quantity: 1 }] };
          await client.query(outboxSql, [randomUUID(), orderId, JSON.stringify(data)]);
        });
      }
      return orderIds.length / ((performance.now() - started) / 1000);
    },

    async relay(round) {
      const topic = topicOf(round);
      await admin.createTopics({
        topics: [{ topic, numPartitions: PARTITIONS }],
        waitForLeaders: true,
      });
      const started = performance.now();
      let published = 0;
      for (;;) {
        const claimed = await inTransaction(pool, async (client) => {
          const { rows } = await client.query(
            `select seq, id, partition_key, payload::text as payload from "${schema}".raw_outbox
             where published_at is null order by seq limit $1 for update skip locked`,
            [RAW_RELAY_BATCH],
          );
          if (rows.length) {
            await producer.send({
              topic,
              acks: -1,
              messages: rows.map((row) => ({
                key: row.partition_key as string,
                value: row.payload as string,
                headers: { id: row.id as string, type: 'payment.completed', source: 'payments' },
              })),
            });
            await client.query(
              `update "${schema}".raw_outbox set published_at = now() where seq = any($1::bigint[])`,
              [rows.map((row) => row.seq as string)],
            );
          }
          return rows.length;
        });
        published += claimed;
        if (claimed < RAW_RELAY_BATCH) break;
      }
      return published / ((performance.now() - started) / 1000);
    },

    async consume(round, count, sends) {
      const inboxSql = `insert into "${schema}".raw_inbox (consumer, message_id) values ($1, $2) on conflict do nothing`;
      const consumer = kafka.consumer({
        groupId: `${namespace}.raw-inventory${sends ? '-sends' : ''}.r${round}`,
        maxWaitTimeInMs: 1000,
      });
      await consumer.connect();
      await consumer.subscribe({ topic: topicOf(round), fromBeginning: true });
      let handled = 0;
      let first: number | undefined;
      let last = 0;
      await consumer.run({
        partitionsConsumedConcurrently: PARTITIONS,
        eachMessage: async ({ message }) => {
          first ??= performance.now();
          const id = message.headers?.id?.toString() ?? '';
          const body = message.value?.toString() ?? '{}';
          const { orderId } = JSON.parse(body) as { orderId: string };
          await inTransaction(pool, async (client) => {
            const claimed = await client.query(inboxSql, [`inventory${sends ? '+' : ''}`, id]);
            if (claimed.rowCount !== 1) return;
            await client.query(ledgerSql, [`inventory${sends ? '+' : ''}`, orderId, 'reserved']);
            if (sends) await sendOutputs(orderId, body);
          });
          handled++;
          last = performance.now();
        },
      });
      try {
        await waitForCount(`raw consumer (c${sends ? '+' : ''})`, () => handled, count);
      } finally {
        await consumer.disconnect();
      }
      return count / ((last - (first ?? last)) / 1000);
    },

    async close() {
      // The namespace's clean-up knows the services' queues, not this one.
      await commands.deleteQueue(shipQueue);
      await rabbit.close();
      await producer.disconnect();
      await admin.disconnect();
      await pool.end();
    },
  };
}
