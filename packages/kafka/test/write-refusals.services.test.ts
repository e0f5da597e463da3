// What happens when the broker refuses a copy the subscription must write (a dead letter or a
// retry-topic copy), and when a retry-topic record says it is due far in the future: the lane
// must never stall silently, and nothing is committed past a record that was not settled.
import { ConfigurationError } from '@eda/core';
import { DEAD_LETTER_HEADERS, type Delivery } from '@eda/core/adapter';
import { kafkaMajors } from '@eda/test-services';
import { afterEach, describe, expect, it } from 'vitest';
import { BODY_DROPPED_HEADER, type KafkaTransportEvent, RETRY_HEADERS } from '../src/index.js';
import { ack, jsonMessage, type Namespace, namespace, until } from './helpers.js';

describe.each(kafkaMajors)('Kafka %i.x write refusals', (major) => {
  let ns: Namespace;
  afterEach(async () => {
    await ns?.cleanup();
  });

  it('writes a trimmed dead letter when the broker refuses the copy as too large, and the partition keeps flowing', async () => {
    ns = namespace(major, 'dlqlarge');
    const events: KafkaTransportEvent[] = [];
    const transport = ns.transport({ topics: { partitions: 1 }, onEvent: (e) => events.push(e) });
    const type = 'scan.uploaded';
    const group = ns.group();
    // The dead-letter topic takes far smaller records than the source topic.
    await transport.ensureTopics([transport.deadLetterTopicFor(group)], {
      config: { 'max.message.bytes': '2048' },
    });
    const big = jsonMessage(type, { blob: 'x'.repeat(8 * 1024) });
    const later = [jsonMessage(type, { n: 1 }), jsonMessage(type, { n: 2 })];
    await transport.publish([big, ...later]);
    const handled: string[] = [];
    const sub = await transport.subscribe(
      { name: group, kind: 'event', types: [type] },
      async (d: Delivery) => {
        if (d.attributes.id === big.attributes.id) {
          return {
            type: 'dead-letter',
            reason: {
              code: 'EDA_HANDLER',
              errorType: 'Error',
              message: 'unreadable scan',
              attempts: d.attempt,
              subscription: group,
            },
          };
        }
        handled.push(d.attributes.id!);
        return ack;
      },
    );
    // Unkeyed records share one lane: the later ones run only once the big one is settled.
    await until(
      () => handled.length === later.length,
      () => handled.length,
      15_000,
      'the records behind the refused dead letter',
    );
    expect(handled).toEqual(later.map((m) => m.attributes.id));
    const [dead] = await ns.readTopic(transport.deadLetterTopicFor(group), 1);
    expect(dead?.value).toBeNull();
    expect(dead?.headers[BODY_DROPPED_HEADER]).toBe(String(big.body.byteLength));
    expect(dead?.headers[DEAD_LETTER_HEADERS.code]).toBe('EDA_HANDLER');
    expect(dead?.headers[DEAD_LETTER_HEADERS.offset]).toBe('0');
    expect(dead?.headers.ce_id).toBe(big.attributes.id);
    expect(events).toContainEqual(
      expect.objectContaining({
        kind: 'write-refused',
        topic: transport.deadLetterTopicFor(group),
        refusal: 'too-large',
        action: 'trimmed',
      }),
    );
    // Once, or again if the consumer was restarted before its commit (a busy coordinator can
    // crash it) and the record came back: every refusal ends as a trimmed dead letter.
    const { writesRefused, deadLettersTrimmed } = transport.stats();
    expect(writesRefused).toBeGreaterThanOrEqual(1);
    expect(deadLettersTrimmed).toBe(writesRefused);
    await sub.close();
    const lag = await transport.lag(group, transport.topicFor(type));
    expect(lag).toEqual([{ partition: 0, committed: '3', end: '3', lag: 0 }]);
  });

  it('dead-letters a record whose retry-topic copy the broker refuses as too large, and keeps flowing', async () => {
    ns = namespace(major, 'retrylarge');
    const events: KafkaTransportEvent[] = [];
    const transport = ns.transport({
      retry: { mode: 'topics', tiers: 1 },
      topics: { partitions: 1 },
      onEvent: (e) => events.push(e),
    });
    const type = 'video.encoded';
    const group = ns.group();
    await transport.ensureTopics([transport.retryTopicFor(group, 1)], {
      config: { 'max.message.bytes': '2048' },
    });
    const big = jsonMessage(type, { blob: 'x'.repeat(8 * 1024) });
    const later = jsonMessage(type, { n: 1 });
    await transport.publish([big, later]);
    const handled: string[] = [];
    await transport.subscribe({ name: group, kind: 'event', types: [type] }, async (d) => {
      if (d.attributes.id === big.attributes.id) {
        return { type: 'retry', delayMs: 100, reason: 'encoder busy' };
      }
      handled.push(d.attributes.id!);
      return ack;
    });
    await until(
      () => handled.length === 1,
      () => handled.length,
      15_000,
      'the record behind the refused retry copy',
    );
    const [dead] = await ns.readTopic(transport.deadLetterTopicFor(group), 1);
    expect(dead?.headers[DEAD_LETTER_HEADERS.code]).toBe('EDA_RETRY_REFUSED');
    expect(dead?.headers[DEAD_LETTER_HEADERS.message]).toMatch(/encoder busy/);
    expect(dead?.headers.ce_id).toBe(big.attributes.id);
    expect(events).toContainEqual(
      expect.objectContaining({
        kind: 'write-refused',
        topic: transport.retryTopicFor(group, 1),
        refusal: 'too-large',
        action: 'dead-lettered',
      }),
    );
  });

  it('stops the subscription with a ConfigurationError naming the topic when the dead-letter topic is missing, and commits nothing past the record', async () => {
    ns = namespace(major, 'dlqmissing');
    const errors: unknown[] = [];
    const events: KafkaTransportEvent[] = [];
    const transport = ns.transport({
      topics: { partitions: 1, autoCreate: false },
      onError: (e) => errors.push(e),
      onEvent: (e) => events.push(e),
    });
    const type = 'fax.received';
    const topic = transport.topicFor(type);
    await transport.ensureTopics([topic]);
    const group = ns.group();
    const poison = jsonMessage(type, { n: 0 });
    const after = jsonMessage(type, { n: 1 });
    await transport.publish([poison, after]);
    const handled: string[] = [];
    await transport.subscribe({ name: group, kind: 'event', types: [type] }, async (d) => {
      if (d.attributes.id === poison.attributes.id) {
        return {
          type: 'dead-letter',
          reason: {
            code: 'EDA_HANDLER',
            errorType: 'Error',
            message: 'bad fax',
            attempts: d.attempt,
            subscription: group,
          },
        };
      }
      handled.push(d.attributes.id!);
      return ack;
    });
    await until(
      () => events.some((e) => e.kind === 'subscription-stopped'),
      () => errors.length,
      60_000,
      'the subscription to stop',
    );
    // Only the configuration error: a busy coordinator can also report a (retried) crash.
    const stopped = errors.find((e) => ConfigurationError.isInstance(e)) as Error | undefined;
    expect(stopped?.message).toContain(transport.deadLetterTopicFor(group));
    expect(stopped?.message).toMatch(/missing|does not exist/);
    expect(handled).toEqual([]);
    expect(transport.stats().subscriptionsStopped).toBe(1);
    const lag = await transport.lag(group, topic);
    expect(lag[0]?.committed).toBeUndefined();
  });

  it('pauses a retry-topic partition until its record is due instead of holding the other partitions', async () => {
    ns = namespace(major, 'retrypause');
    const transport = ns.transport({
      retry: { mode: 'topics', tiers: 1 },
      topics: { partitions: 1 },
    });
    const type = 'pdf.rendered';
    const group = ns.group();
    const slow = jsonMessage(type, { n: 0 });
    const handledAt = new Map<string, number>();
    let retriedAt = 0;
    await transport.subscribe({ name: group, kind: 'event', types: [type] }, async (d) => {
      if (d.attributes.id === slow.attributes.id && d.attempt === 1) {
        retriedAt = Date.now();
        return { type: 'retry', delayMs: 15_000, reason: 'renderer busy' };
      }
      handledAt.set(d.attributes.id!, Date.now());
      return ack;
    });
    await transport.publish([slow]);
    await until(
      () => retriedAt > 0,
      () => retriedAt,
    );
    // Give the member time to fetch the retry copy, then publish more to the source topic.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const later = Array.from({ length: 5 }, (_, n) => jsonMessage(type, { n: n + 1 }));
    await transport.publish(later);
    await until(
      () => later.every((m) => handledAt.has(m.attributes.id)),
      () => handledAt.size,
      30_000,
    );
    // Handled while the retry still waits, not after it.
    expect(handledAt.has(slow.attributes.id)).toBe(false);
    await until(
      () => handledAt.has(slow.attributes.id),
      () => handledAt.size,
      30_000,
    );
    expect(handledAt.get(slow.attributes.id)! - retriedAt).toBeGreaterThanOrEqual(15_000);
  }, 120_000);

  it('caps the wait of a retry-topic record whose due time is forged far in the future', async () => {
    ns = namespace(major, 'forgeddue');
    const events: KafkaTransportEvent[] = [];
    const transport = ns.transport({
      retry: { mode: 'topics', tiers: 1, maxDelayMs: 1500 },
      topics: { partitions: 1 },
      onEvent: (e) => events.push(e),
    });
    const type = 'sms.requested';
    const group = ns.group();
    const deliveries: Delivery[] = [];
    await transport.subscribe({ name: group, kind: 'event', types: [type] }, async (d) => {
      deliveries.push(d);
      return ack;
    });
    const forged = jsonMessage(type, { to: '+1' });
    const producer = ns.kafka.producer();
    await producer.connect();
    const sentAt = Date.now();
    await producer.send({
      topic: transport.retryTopicFor(group, 1),
      messages: [
        {
          value: Buffer.from(forged.body),
          headers: {
            ce_id: forged.attributes.id,
            ce_type: type,
            ce_source: 'test',
            ce_specversion: '1.0',
            'content-type': 'application/json',
            [RETRY_HEADERS.attempt]: '2',
            [RETRY_HEADERS.due]: String(sentAt + 24 * 3600_000),
            [RETRY_HEADERS.destination]: transport.topicFor(type),
          },
        },
      ],
    });
    await producer.disconnect();
    await until(
      () => deliveries.length === 1,
      () => deliveries.length,
      15_000,
      'the forged retry to be delivered',
    );
    expect(deliveries[0]?.attempt).toBe(2);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1500);
    expect(events).toContainEqual(
      expect.objectContaining({ kind: 'retry-wait-capped', cappedMs: 1500 }),
    );
    expect(transport.stats().retryWaitsCapped).toBe(1);
  });
});
