// Ours: the order flow's own processes (src/processes/process-set.ts), started as `pnpm demo:real`
// starts them but with only the services on the measured path: payments (writes the payment and
// its event through the outbox), the outbox relay (to Kafka) and inventory (consumes it with the
// PostgreSQL inbox and writes the reservation). Shipping, billing and notifications are off the
// path and not started; the ship.order queue inventory sends to is declared by its owner's code
// first, as a deployment would have it, and the commands wait there until the namespace is removed.
import { createBus, on } from '@eda/core';
import pg from 'pg';
import { ShipOrder } from '../src/contracts.js';
import { type ProcessSet, startProcessSet } from '../src/processes/process-set.js';
import type { OrderRequest, ServiceName } from '../src/processes/services.js';
import { createRealTransports, prepareSchema, schemaOf } from '../src/real-infrastructure.js';
import {
  countReserved,
  type OrderCommits,
  readOrderCommits,
  stampCommits,
} from './commit-stamps.js';
import { waitForCount } from './wait-for-count.js';

/** An order's commit times, plus when the relay marked its event published (after Kafka's ack). */
export interface OursCommits extends OrderCommits {
  readonly publishedAt: number;
}

export const MEASURED_SERVICES: readonly ServiceName[] = ['payments', 'relay', 'inventory'];

export interface OursPipeline {
  readonly names: readonly string[];
  /** Hands every order to payments at once, waits until all are reserved; their commit times. */
  saturate(prefix: string, count: number): Promise<OursCommits[]>;
  /** Hands one order to payments every 1000/rate ms on schedule, waits until all are reserved. */
  paced(prefix: string, rate: number, count: number): Promise<OursCommits[]>;
  close(): Promise<void>;
}

const orderOf = (orderId: string): OrderRequest => ({
  orderId,
  amountCents: 990,
  lines: [{ sku: 'mug', quantity: 1 }],
});

/** Declares the ship.order queue the way shipping's bus does, with no consumer left on it. */
async function declareShippingQueue(namespace: string): Promise<void> {
  const { events, commands } = createRealTransports(namespace);
  const bus = createBus({ service: 'shipping', transport: commands });
  await bus.subscribe({ handlers: [on(ShipOrder, async () => undefined)] });
  await bus.close();
  await commands.close();
  await events.close();
}

export async function startOurs(options: {
  readonly postgresUrl: string;
  readonly namespace: string;
  readonly instances: Partial<Record<ServiceName, number>>;
  readonly onLine: (from: string, line: string) => void;
  /** Adds the workflow monitor process, so every process also reports its audit records. */
  readonly withMonitor?: boolean;
}): Promise<OursPipeline> {
  const { postgresUrl, namespace, instances, onLine, withMonitor = false } = options;
  const schema = schemaOf(namespace);
  const pool = new pg.Pool({ connectionString: postgresUrl, max: 2 });
  await prepareSchema(pool, namespace);
  await stampCommits(pool, schema, 'ledger');
  await declareShippingQueue(namespace);
  let set: ProcessSet;
  try {
    // Spans off, as the raw stages have none (the tracing cost is benchmarked in @eda/core).
    set = await startProcessSet({
      namespace,
      services: withMonitor ? [...MEASURED_SERVICES, 'monitor'] : MEASURED_SERVICES,
      instances,
      onLine,
      env: { EDA_ORDER_FLOW_TRACING: 'off' },
    });
  } catch (error) {
    await pool.end();
    throw error;
  }

  /** Orders of `prefix` per step, for a run that got stuck: paid, outbox status, reserved. */
  const whereAre = async (prefix: string) => {
    const { rows } = await pool.query(
      `select 'outbox ' || status as step, count(*)::int as n from "${schema}".outbox
       where starts_with(aggregateid, $1) group by status
       union all
       select effect, count(*)::int from "${schema}".ledger
       where starts_with(order_id, $1) group by effect`,
      [prefix],
    );
    // Pending outbox rows wait behind the server-wide commit-order fence: the oldest writer.
    const oldest = await pool.query(
      `select extract(epoch from now() - xact_start)::int as "ageSeconds", datname, application_name,
         state, left(query, 120) as query
       from pg_stat_activity where backend_xid is not null order by xact_start limit 1`,
    );
    return `${JSON.stringify(Object.fromEntries(rows.map((r) => [r.step, r.n])))}; oldest write transaction on the server: ${JSON.stringify(oldest.rows[0] ?? null)}`;
  };

  const finish = async (prefix: string, count: number, placing: Promise<unknown>) => {
    try {
      await waitForCount(
        `ours (${set.names.join(', ')})`,
        () => countReserved(pool, schema, 'ledger', prefix),
        count,
      );
    } catch (error) {
      throw new Error(
        `${(error as Error).message} Where the orders are: ${await whereAre(prefix)}`,
      );
    }
    await placing;
    const commits = await readOrderCommits(pool, schema, 'ledger', prefix);
    // The relay sets published_at (now() of its completion) once Kafka acknowledged the event.
    const { rows } = await pool.query(
      `select aggregateid, extract(epoch from published_at) * 1000 as "publishedAt"
       from "${schema}".outbox where starts_with(aggregateid, $1)`,
      [prefix],
    );
    const published = new Map(rows.map((r) => [r.aggregateid as string, Number(r.publishedAt)]));
    return commits.map((c) => ({ ...c, publishedAt: published.get(c.orderId) ?? Number.NaN }));
  };

  return {
    names: set.names,
    saturate(prefix, count) {
      const ids = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
      return finish(prefix, count, Promise.all(ids.map((id) => set.placeOrder(orderOf(id)))));
    },
    async paced(prefix, rate, count) {
      const placed: Promise<void>[] = [];
      const started = performance.now();
      for (let i = 0; i < count; i++) {
        const wait = started + (i * 1000) / rate - performance.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
        placed.push(set.placeOrder(orderOf(`${prefix}${i}`)));
      }
      return finish(prefix, count, Promise.all(placed));
    },
    async close() {
      const unclean = await set.stop();
      if (unclean.length) onLine('bench', `did not stop cleanly: ${unclean.join('; ')}`);
      await pool.end();
    },
  };
}
