// Tracing through the outbox with the real SDK, on PostgreSQL and Kafka: the creation context
// is captured when the row is written in the business transaction, the relay's send span links
// to it, and the consumer's process span links to (or, with parent 'producer', continues) it.
import { createBus, createOutboxRelay, defineEvent, on } from '@eda/core';
import { createKafkaTransport, type KafkaTransport } from '@eda/kafka';
import { kafkaBrokers, uniqueName } from '@eda/test-services';
import { type OtelSdk, onlySpan, spanIdOf, useOtelSdk } from '@eda/test-services/otel';
import { SpanKind } from '@opentelemetry/api';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresOutboxStore, withTransaction } from '../src/index.js';
import { useTestScope } from './helpers.js';

const PaymentCompleted = defineEvent<{ orderId: string }>({
  type: 'payment.completed',
  owner: 'payments',
});

const scope = useTestScope();

/** Waits until `condition` holds; fails after `idleMs` without a new span (no progress). */
async function untilSpans(sdk: OtelSdk, condition: () => boolean, idleMs = 20_000) {
  let seen = sdk.spans().length;
  let since = Date.now();
  while (!condition()) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = sdk.spans().length;
    if (now !== seen) {
      seen = now;
      since = Date.now();
    } else if (Date.now() - since > idleMs) {
      throw new Error(`no new span for ${idleMs} ms; spans: ${sdk.spans().map((s) => s.name)}`);
    }
  }
}

describe('outbox write -> relay -> consume on PostgreSQL and Kafka (real SDK)', () => {
  const sdk = useOtelSdk();
  let transport: KafkaTransport | undefined;
  let prefix = '';
  afterEach(async () => {
    sdk.reset();
    await transport?.close();
    transport = undefined;
    const admin = new Kafka({ brokers: kafkaBrokers(4), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
      if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
      const groups = (await admin.listGroups()).groups
        .map((g) => g.groupId)
        .filter((id) => id.startsWith(prefix));
      if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
    } finally {
      await admin.disconnect();
    }
  });

  async function setup(parent: 'ambient' | 'producer') {
    const db = await scope.open('otel');
    const pool = db.pool();
    const store = scope.track(createPostgresOutboxStore({ pool, schema: db.schema.name }));
    prefix = `${uniqueName('otel-outbox')}.`;
    transport = createKafkaTransport({
      brokers: kafkaBrokers(4),
      logLevel: 'nothing',
      topicPrefix: prefix,
      consumer: { maxWaitTimeMs: 200, commitIntervalMs: 200 },
    });
    const payments = createBus({ service: 'payments', transport, outbox: store });
    const inventory = createBus({ service: 'inventory', transport, tracing: { parent } });
    const handled: string[] = [];
    await inventory.subscribe({
      name: `${prefix}inventory`,
      handlers: [on(PaymentCompleted, (m) => void handled.push(m.id))],
    });
    await withTransaction(pool, (client) =>
      payments.publish(PaymentCompleted, { orderId: 'o-1' }, { transaction: client }),
    );
    // The create span ended with the write; nothing was sent yet.
    const topic = transport.topicFor('payment.completed');
    expect(sdk.named(`create ${topic}`)).toHaveLength(1);
    expect(sdk.named(`send ${topic}`)).toHaveLength(0);
    const waiting = await store.backlog();
    expect(waiting.records).toBe(1);
    expect(waiting.oldestAgeMs).toBeGreaterThanOrEqual(0);
    const relay = createOutboxRelay({ store, transport });
    // A record becomes claimable once no older transaction anywhere on the server is still
    // open (the store's commit-order fence), which on a shared server may take a moment.
    let published = 0;
    const since = Date.now();
    while (published === 0 && Date.now() - since < 30_000) {
      published = await relay.drain();
      if (published === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(published).toBe(1);
    await untilSpans(sdk, () => handled.length === 1);
    expect(await store.backlog()).toEqual({ records: 0, oldestAgeMs: undefined });
    return { topic, handled, close: () => Promise.all([payments.close(), inventory.close()]) };
  }

  it('the relay send span links to the creation context captured at write; the process span links to it too', async () => {
    const { topic, handled, close } = await setup('ambient');
    const create = onlySpan(sdk, `create ${topic}`);
    const send = onlySpan(sdk, `send ${topic}`);
    const process = onlySpan(sdk, `process ${topic}`);
    expect(create.kind).toBe(SpanKind.PRODUCER);
    expect(create.attributes['messaging.message.id']).toBe(handled[0]);
    expect(send.links.map((l) => l.context.spanId)).toEqual([spanIdOf(create)]);
    expect(send.links[0]?.context.traceId).toBe(create.spanContext().traceId);
    expect(send.attributes['messaging.message.id']).toBe(handled[0]);
    expect(process.links.map((l) => l.context.spanId)).toEqual([spanIdOf(create)]);

    const metrics = await sdk.collectMetrics();
    const batch = metrics.get('eda.outbox.relay.batch.size');
    expect(batch?.scope.name).toBe('@eda/core');
    expect(batch?.points.map((p) => p.attributes['eda.transport'])).toContain('kafka');
    expect(metrics.get('eda.outbox.relay.batch.duration')?.unit).toBe('s');
    await close();
  });

  it('with parent "producer" the consumer continues the trace that began in the payment transaction', async () => {
    const { topic, close } = await setup('producer');
    const create = onlySpan(sdk, `create ${topic}`);
    const process = onlySpan(sdk, `process ${topic}`);
    expect(process.spanContext().traceId).toBe(create.spanContext().traceId);
    expect(process.parentSpanContext?.spanId).toBe(spanIdOf(create));
    await close();
  });
});
