// The Kafka dead-letter admin beyond the contract cases: where a redriven copy lands and what it
// carries, that another admin reads the redrive and discard marks back from the settled topic,
// and the dead letters it will not redrive.
import { ClosedError, ConfigurationError, type DeadLetterAdmin } from '@eda/core';
import { DEAD_LETTER_HEADERS, type Delivery } from '@eda/core/adapter';
import { kafkaMajors } from '@eda/test-services';
import { ConfigResourceTypes } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { BODY_DROPPED_HEADER, RETRY_HEADERS } from '../src/index.js';
import { ack, jsonMessage, type Namespace, namespace, sleep, until } from './helpers.js';

/** Lists until `count` dead letters are there (they are written while the subscription runs). */
async function listed(admin: DeadLetterAdmin, group: string, count: number) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = await admin.list(group);
    if (found.length >= count) return found;
    if (Date.now() > deadline)
      throw new Error(`${count} dead letters of ${group}: have ${found.length}`);
    await sleep(100);
  }
}

describe.each(kafkaMajors)('Kafka %i.x dead-letter admin', (major) => {
  let ns: Namespace;
  afterEach(async () => {
    await ns?.cleanup();
  });

  it('redrives to the original partition with the key, body and headers minus the bookkeeping; a second admin leaves out what the first redrove or discarded', async () => {
    ns = namespace(major, 'dlaredrive');
    const transport = ns.transport();
    const type = 'invoice.issued';
    const topic = transport.topicFor(type);
    const group = ns.group('billing');
    const messages = [0, 1, 2].map((n) =>
      jsonMessage(type, { n }, { partitionkey: `customer-${n}`, correlationid: `order-${n}` }),
    );
    // Every first delivery is dead-lettered; the redriven copy is acked.
    const deliveries: Delivery[] = [];
    await transport.subscribe({ name: group, kind: 'event', types: [type] }, async (d) => {
      deliveries.push(d);
      if (d.header?.('x-eda-redrive-for') !== undefined) return ack;
      return {
        type: 'dead-letter',
        reason: {
          code: 'EDA_HANDLER',
          errorType: 'Error',
          message: 'no tax rate',
          attempts: d.attempt,
          subscription: group,
        },
      };
    });
    await transport.publish(messages);
    const first = ns.deadLetterAdmin();
    const all = await listed(first, group, 3);
    const byN = (n: number) => all.find((d) => d.attributes.id === messages[n]!.attributes.id)!;
    const [redriven, discarded, kept] = [byN(0), byN(1), byN(2)];
    expect(redriven.handle).toMatch(/^\d+:\d+$/);

    expect(
      (await first.redrive(group, { handles: [redriven.handle] })).map((d) => d.handle),
    ).toEqual([redriven.handle]);
    expect(await first.discard(group, discarded.handle)).toBe(true);
    // A publish retried across a broker restart may write a message twice (each copy is its
    // own dead letter): the checks below name handles, not counts.
    const isCopy = (d: Delivery) => d.header?.('x-eda-redrive-for') !== undefined;
    await until(
      () => deliveries.some(isCopy),
      () => deliveries.length,
      20_000,
      'the redriven copy',
    );
    const copy = deliveries.find(isCopy)!;
    expect(copy.header?.('x-eda-redrive-for')).toBe(group);
    expect(copy.attributes).toMatchObject({
      id: messages[0]!.attributes.id,
      correlationid: 'order-0',
    });
    expect(copy.attempt, 'a fresh delivery count').toBe(1);
    expect(copy.origin.partition).toBe(Number(redriven.headers[DEAD_LETTER_HEADERS.partition]));

    const offsets = new Set(deliveries.map((d) => `${d.origin.partition}:${d.origin.offset}`));
    const records = await ns.readTopic(topic, offsets.size);
    const written = records.find((r) => r.headers['x-eda-redrive-of'] === redriven.handle)!;
    expect(written.key).toBe('customer-0');
    expect(written.value?.toString()).toBe('{"n":0}');
    expect(written.headers.ce_correlationid).toBe('order-0');
    for (const name of [...Object.values(DEAD_LETTER_HEADERS), ...Object.values(RETRY_HEADERS)])
      expect(written.headers, name).not.toHaveProperty(name);

    // A second admin knows only what the settled topic says, and agrees with the first.
    const second = ns.deadLetterAdmin();
    const left = (await second.list(group)).map((d) => d.handle);
    expect(left).toContain(kept.handle);
    expect(left).not.toContain(redriven.handle);
    expect(left).not.toContain(discarded.handle);
    expect((await first.list(group)).map((d) => d.handle)).toEqual(left);
    expect(await second.get(group, redriven.handle)).toBeUndefined();
    expect(await second.redrive(group, { handles: [redriven.handle, discarded.handle] })).toEqual(
      [],
    );
    expect(await second.discard(group, discarded.handle)).toBe(false);

    const settledTopic = `${transport.deadLetterTopicFor(group)}.settled`;
    const marks = await ns.readTopic(settledTopic, 2);
    expect(
      Object.fromEntries(marks.map((m) => [m.key, JSON.parse(m.value!.toString()).action])),
    ).toEqual({ [redriven.handle]: 'redriven', [discarded.handle]: 'discarded' });
    const admin = ns.kafka.admin();
    await admin.connect();
    try {
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: settledTopic }],
      });
      const policy = resources[0]?.configEntries.find((e) => e.configName === 'cleanup.policy');
      expect(policy?.configValue).toBe('compact');
    } finally {
      await admin.disconnect();
    }
  });

  it('lists a dead letter whose body was dropped but does not redrive it; answers for unknown subscriptions and handles without reading a topic that is not there', async () => {
    ns = namespace(major, 'dladropped');
    const transport = ns.transport({ consumer: { maxRecordBytes: 1024 } });
    const type = 'scan.uploaded';
    const group = ns.group('scanner');
    await transport.subscribe({ name: group, kind: 'event', types: [type] }, async () => ack);
    const big = jsonMessage(type, { blob: 'x'.repeat(4096) });
    await transport.publish([big]);
    const admin = ns.deadLetterAdmin();
    const [dropped] = await listed(admin, group, 1);
    expect(dropped!.reason.code).toBe('EDA_RECORD_TOO_LARGE');
    expect(dropped!.headers[BODY_DROPPED_HEADER]).toBe(String(big.body.byteLength));
    expect(dropped!.body.byteLength).toBe(0);
    expect(await admin.redrive(group, { all: true }), 'an empty body is never redriven').toEqual(
      [],
    );
    expect(await admin.redrive(group, { handles: [dropped!.handle] })).toEqual([]);
    expect(
      (await admin.list(group)).map((d) => d.handle),
      'still listed',
    ).toEqual([dropped!.handle]);
    expect(await admin.discard(group, dropped!.handle)).toBe(true);
    expect(await admin.list(group)).toEqual([]);

    expect(await admin.list(ns.group('nobody'))).toEqual([]);
    expect(await admin.get(group, 'not-a-handle')).toBeUndefined();
    await expect(admin.list(group, { limit: -1 })).rejects.toThrow(ConfigurationError);
    await expect(admin.list('bad/name')).rejects.toThrow(ConfigurationError);
    await admin.close();
    await expect(admin.list(group)).rejects.toThrow(ClosedError);
  });
});
