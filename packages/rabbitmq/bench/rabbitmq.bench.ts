// Benchmark: @eda/rabbitmq against raw amqplib in the same run, alternating, on the local broker.
//   1. publish with confirms, a window of 200 outstanding confirms, 1 KiB messages;
//   2. consume with manual ack, prefetch 200.
// Writes bench/results/rabbitmq.json at the repository root and prints a table (shared format).
import { randomBytes } from 'node:crypto';
import type { OutgoingMessage } from '@eda/core';
import {
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  connect,
  type Options,
} from 'amqplib';
import { type BenchResult, summarize, writeResults } from '../../../bench/write-results.js';
import { createRabbitMqTransport, type RabbitMqTransport } from '../src/index.js';
import { toPublishOptions } from '../src/message-mapping.js';

const url = process.env.EDA_AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
const MESSAGES = 10_000;
const BYTES = 1024;
const WINDOW = 200;
const PREFETCH = 200;
const RUNS = 7;
const prefix = `eda-bench-${Date.now().toString(36)}`;
const exchange = `${prefix}.events`;
const type = 'bench.happened';
const subscription = 'bench';
const eventQueue = `${prefix}.${subscription}.events`;
const commandType = 'bench.do';
const commandQueue = `${prefix}.${commandType}`;

/** Half random, half repeated bytes, so nothing in the path can shrink them much. */
function body(): Uint8Array {
  const out = new Uint8Array(BYTES);
  out.set(randomBytes(BYTES / 2));
  return out;
}

function messages(kind: 'event' | 'command', t: string): OutgoingMessage[] {
  return Array.from({ length: MESSAGES }, (_, i) => ({
    attributes: {
      id: `${prefix}-${i}-${Math.random()}`,
      type: t,
      source: 'bench',
      specversion: '1.0',
      kind,
      datacontenttype: 'application/octet-stream',
      time: new Date().toISOString(),
      correlationid: `c-${i}`,
    },
    body: body(),
  }));
}

/** Raw amqplib: the same messages, a window of WINDOW unconfirmed publishes, wait for all. */
async function rawPublish(
  channel: ConfirmChannel,
  batch: OutgoingMessage[],
  route: (m: OutgoingMessage) => [string, string],
) {
  let outstanding = 0;
  let wake: (() => void) | undefined;
  let failed: unknown;
  const done = () => {
    outstanding -= 1;
    wake?.();
  };
  for (const message of batch) {
    while (outstanding >= WINDOW) await new Promise<void>((resolve) => (wake = resolve));
    outstanding += 1;
    const options: Options.Publish = toPublishOptions(message, false);
    const [ex, key] = route(message);
    const ok = channel.publish(ex, key, Buffer.from(message.body), options, (error) => {
      if (error) failed = error;
      done();
    });
    if (!ok) await new Promise((resolve) => channel.once('drain', resolve));
  }
  while (outstanding > 0) await new Promise<void>((resolve) => (wake = resolve));
  if (failed) throw failed;
}

async function purge(channel: Channel, queue: string) {
  await channel.purgeQueue(queue);
}

interface Sample {
  ours: number[];
  baseline: number[];
}

async function timed(work: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await work();
  return MESSAGES / ((performance.now() - start) / 1000);
}

async function benchPublish(transport: RabbitMqTransport, admin: ChannelModel): Promise<Sample> {
  const channel = await admin.createChannel();
  const raw = await admin.createConfirmChannel();
  // One subscription queue bound to the type; the subscription is closed so messages pile up.
  const sub = await transport.subscribe(
    { name: subscription, kind: 'event', types: [type] },
    async () => ({ type: 'ack' }),
  );
  await sub.close();
  const sample: Sample = { ours: [], baseline: [] };
  const route = (m: OutgoingMessage): [string, string] => [exchange, m.attributes.type];
  // Warm-up: both paths once.
  await transport.publish(messages('event', type).slice(0, 1000));
  await rawPublish(raw, messages('event', type).slice(0, 1000), route);
  await purge(channel, eventQueue);
  for (let run = 0; run < RUNS; run++) {
    const ours = messages('event', type);
    sample.ours.push(await timed(() => transport.publish(ours)));
    await purge(channel, eventQueue);
    const base = messages('event', type);
    sample.baseline.push(await timed(() => rawPublish(raw, base, route)));
    await purge(channel, eventQueue);
  }
  await raw.close();
  await channel.close();
  return sample;
}

async function benchConsume(transport: RabbitMqTransport, admin: ChannelModel): Promise<Sample> {
  const raw = await admin.createConfirmChannel();
  const route = (): [string, string] => ['', commandQueue];
  const fill = () => rawPublish(raw, messages('command', commandType), route);
  // Declares the command queue (with its owner) the same way a service would.
  const first = await transport.subscribe(
    { name: 'bench-owner', kind: 'command', types: [commandType] },
    async () => ({ type: 'ack' }),
  );
  await first.close();

  const ours = async () => {
    let handled = 0;
    let finished: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (finished = resolve));
    const subscriptionOf = await transport.subscribe(
      { name: 'bench-owner', kind: 'command', types: [commandType], concurrency: PREFETCH },
      async () => {
        if (++handled === MESSAGES) finished();
        return { type: 'ack' };
      },
    );
    await all;
    await subscriptionOf.close(); // waits until every ack is sent
  };
  const baseline = async () => {
    const channel = await admin.createChannel();
    await channel.prefetch(PREFETCH);
    let handled = 0;
    let finished: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (finished = resolve));
    const { consumerTag } = await channel.consume(commandQueue, (message) => {
      if (!message) return;
      channel.ack(message);
      if (++handled === MESSAGES) finished();
    });
    await all;
    await channel.cancel(consumerTag);
    await channel.close();
  };
  const sample: Sample = { ours: [], baseline: [] };
  await fill();
  await ours(); // warm-up
  await fill();
  await baseline();
  for (let run = 0; run < RUNS; run++) {
    await fill();
    sample.ours.push(await timed(ours));
    await fill();
    sample.baseline.push(await timed(baseline));
  }
  await raw.close();
  return sample;
}

function entry(name: string, sample: Sample, params: Record<string, unknown>): BenchResult {
  const ours = summarize(sample.ours);
  const baseline = summarize(sample.baseline);
  return {
    name,
    unit: 'msg/s',
    ours: Math.round(ours.median),
    baseline: Math.round(baseline.median),
    baselineName: 'amqplib 2.3.1',
    ratio: Number((ours.median / baseline.median).toFixed(3)),
    params: {
      ...params,
      messages: MESSAGES,
      bytes: BYTES,
      runs: RUNS,
      queueType: 'quorum',
      oursMin: Math.round(ours.min),
      oursMax: Math.round(ours.max),
      baselineMin: Math.round(baseline.min),
      baselineMax: Math.round(baseline.max),
    },
  };
}

const admin = await connect(url);
const transport = createRabbitMqTransport({
  url,
  exchange,
  subscriptionQueueFor: (name) => `${prefix}.${name}.events`,
  queueFor: (t) => `${prefix}.${t}`,
  deadLetterQueueFor: (name) => `${prefix}.${name}.dead-letter`,
  publishWindow: WINDOW,
  prefetch: PREFETCH,
});
try {
  const publish = await benchPublish(transport, admin);
  const consume = await benchConsume(transport, admin);
  const results = [
    entry(`publish events with confirms, window ${WINDOW}, ${BYTES} B`, publish, {
      window: WINDOW,
      target: 0.9,
    }),
    entry(`consume commands with manual ack, prefetch ${PREFETCH}, ${BYTES} B`, consume, {
      prefetch: PREFETCH,
      concurrency: PREFETCH,
      target: 0.85,
    }),
  ];
  writeResults('rabbitmq', results);
} finally {
  await transport.close();
  const channel = await admin.createChannel();
  for (const queue of [
    eventQueue,
    commandQueue,
    `${prefix}.${subscription}.dead-letter`,
    `${prefix}.bench-owner.dead-letter`,
  ])
    await channel.deleteQueue(queue);
  await channel.deleteExchange(exchange);
  await admin.close();
}
