// What validating consumed messages costs: consume-to-handler throughput on the in-memory
// transport with a ~10-field schema, validation on vs off, for zod and valibot, in one run.
import * as v from 'valibot';
import { z } from 'zod';
import { type BenchResult, summarize, writeResults } from '../../../bench/write-results.js';
import {
  createBus,
  createInMemoryBroker,
  createInMemoryTransport,
  defineEvent,
  type EventDefinition,
  on,
} from '../src/index.js';

const MESSAGES = 20_000;
const ROUNDS = 5;

const zodSchema = z.object({
  orderId: z.string(),
  customerId: z.string(),
  amountCents: z.number().int(),
  currency: z.string().length(3),
  placedAt: z.string(),
  express: z.boolean(),
  items: z.number().int(),
  country: z.string(),
  coupon: z.string().optional(),
  note: z.string(),
});
const valibotSchema = v.object({
  orderId: v.string(),
  customerId: v.string(),
  amountCents: v.pipe(v.number(), v.integer()),
  currency: v.pipe(v.string(), v.length(3)),
  placedAt: v.string(),
  express: v.boolean(),
  items: v.pipe(v.number(), v.integer()),
  country: v.string(),
  coupon: v.optional(v.string()),
  note: v.string(),
});
const sample = (i: number) => ({
  orderId: `o-${i}`,
  customerId: `c-${i % 100}`,
  amountCents: 1000 + i,
  currency: 'EUR',
  placedAt: new Date().toISOString(),
  express: i % 2 === 0,
  items: 3,
  country: 'DE',
  note: 'leave at the door',
});

/** Messages per second from subscription start until all MESSAGES were handled. */
async function consumeRate(definition: EventDefinition<unknown, unknown>): Promise<number> {
  const broker = createInMemoryBroker();
  const transport = createInMemoryTransport({ broker });
  const producer = createBus({ service: 'orders', transport });
  // Published without validation so both variants consume identical, valid bytes.
  const Raw = defineEvent<unknown>({ type: definition.type, owner: 'orders' });
  for (let i = 0; i < MESSAGES; i++)
    await producer.publish(Raw, sample(i), { partitionKey: `k${i % 64}` });
  let handled = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const started = performance.now();
  const subscription = await createBus({ service: 'bench', transport }).subscribe({
    handlers: [on(definition, () => void (++handled === MESSAGES && resolveDone()))],
  });
  await done;
  const rate = MESSAGES / ((performance.now() - started) / 1000);
  await subscription.close();
  return rate;
}

const variants = {
  'zod on': defineEvent({ type: 'bench.order', owner: 'orders', schema: zodSchema }),
  'zod off': defineEvent({
    type: 'bench.order',
    owner: 'orders',
    schema: zodSchema,
    validate: false,
  }),
  'valibot on': defineEvent({ type: 'bench.order', owner: 'orders', schema: valibotSchema }),
  'valibot off': defineEvent({
    type: 'bench.order',
    owner: 'orders',
    schema: valibotSchema,
    validate: false,
  }),
} as Record<string, EventDefinition<unknown, unknown>>;

const samples: Record<string, number[]> = Object.fromEntries(
  Object.keys(variants).map((k) => [k, []]),
);
await consumeRate(variants['zod off']!); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, definition] of Object.entries(variants))
    samples[name]!.push(await consumeRate(definition));
}

const results: BenchResult[] = ['zod', 'valibot'].map((vendor) => {
  const on = summarize(samples[`${vendor} on`]!);
  const off = summarize(samples[`${vendor} off`]!);
  return {
    name: `consume throughput, in-memory transport, ${vendor} schema of 10 fields, validation on vs off`,
    unit: 'msg/s',
    ours: Math.round(on.median),
    baseline: Math.round(off.median),
    baselineName: 'validation off',
    ratio: Number((on.median / off.median).toFixed(3)),
    params: {
      messages: MESSAGES,
      rounds: ROUNDS,
      partitions: 4,
      onMin: Math.round(on.min),
      onMax: Math.round(on.max),
      offMin: Math.round(off.min),
      offMax: Math.round(off.max),
      node: process.version,
    },
  };
});
writeResults('core', results);
