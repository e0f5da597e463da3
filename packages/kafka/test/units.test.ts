// Unit tests of the pieces that need no broker: commit bookkeeping, the in-flight bound, option
// checks, topic names and the binary-mode record mapping.
import { CapabilityError, ConfigurationError } from '@eda/core';
import { uuidv7 } from '@eda/core/adapter';
import type { IHeaders } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { BatchStop } from '../src/batch-stop.js';
import { createKafkaTransport } from '../src/index.js';
import { resolveKafkaOptions } from '../src/kafka-transport-options.js';
import { PartitionProgress } from '../src/partition-progress.js';
import {
  attributesOf,
  headerStrings,
  readRecordHeaders,
  toRecord,
  withKeyAsPartitionKey,
} from '../src/record-mapping.js';
import { RETRY_HEADERS, readRetryState } from '../src/retry-headers.js';
import { Slots } from '../src/slots.js';
import { assertTopicName } from '../src/topic-names.js';
import { refusalOf } from '../src/write-refusal.js';
import { orderViolations } from './order-check.js';

describe('PartitionProgress', () => {
  it('moves the commit point only over a run of settled records', () => {
    const progress = new PartitionProgress(['10', '11', '12', '15']);
    expect(progress.lastContiguous()).toBeUndefined();
    progress.settle(1);
    progress.settle(3);
    expect(progress.lastContiguous()).toBeUndefined();
    progress.settle(0);
    expect(progress.lastContiguous()).toBe(11n);
    expect(progress.pending).toBe(2);
    progress.settle(2);
    expect(progress.lastContiguous()).toBe(15n);
    expect(progress.pending).toBe(0);
  });
});

describe('BatchStop', () => {
  it('is aborted once any source is, and its signal follows', () => {
    const a = new AbortController();
    const b = new AbortController();
    const stop = new BatchStop([a.signal, b.signal]);
    expect(stop.aborted).toBe(false);
    const signal = stop.signal;
    expect(signal.aborted).toBe(false);
    b.abort();
    expect(stop.aborted).toBe(true);
    expect(signal.aborted).toBe(true);
    expect(new BatchStop([b.signal]).signal.aborted).toBe(true);
  });
});

describe('Slots', () => {
  it('bounds holders and serves waiters first come, first served', async () => {
    const slots = new Slots(2);
    expect(slots.tryAcquire()).toBe(true);
    expect(slots.tryAcquire()).toBe(true);
    expect(slots.tryAcquire()).toBe(false);
    const order: number[] = [];
    const a = slots.acquire().then(() => order.push(1));
    const b = slots.acquire().then(() => order.push(2));
    slots.release();
    slots.release();
    await Promise.all([a, b]);
    expect(order).toEqual([1, 2]);
    // A newcomer cannot jump the line while someone waits.
    const c = slots.acquire().then(() => order.push(3));
    expect(slots.tryAcquire()).toBe(false);
    slots.release();
    await c;
    expect(order).toEqual([1, 2, 3]);
  });
});

describe('options', () => {
  it('rejects impossible values with messages that name the option', () => {
    expect(() => resolveKafkaOptions({ producer: { idempotent: true, acks: 1 } })).toThrow(
      /idempotent producer needs producer.acks -1/,
    );
    expect(() =>
      resolveKafkaOptions({ consumer: { heartbeatIntervalMs: 5000, sessionTimeoutMs: 3000 } }),
    ).toThrow(/heartbeatIntervalMs \(5000\) must be lower/);
    expect(() => resolveKafkaOptions({ retry: { mode: 'later' as 'topics' } })).toThrow(
      ConfigurationError,
    );
    expect(() => resolveKafkaOptions({ topics: { partitions: 0 } })).toThrow(
      /topics.partitions is 0/,
    );
    expect(() => resolveKafkaOptions({ retry: { maxDelayMs: -1 } })).toThrow(
      /retry.maxDelayMs is -1/,
    );
    expect(() => createKafkaTransport({})).toThrow(
      /needs a kafkajs client .* or bootstrap brokers/,
    );
  });

  it('defaults to acks -1, blocking retry, refused commands and created topics', () => {
    const resolved = resolveKafkaOptions({});
    expect(resolved.producer.acks).toBe(-1);
    expect(resolved.retry.mode).toBe('blocking');
    expect(resolved.retry.maxDelayMs).toBe(300_000);
    expect(resolved.commands).toBe('refuse');
    expect(resolved.topics).toMatchObject({ autoCreate: true, partitions: 3 });
    expect(resolved.topicFor('order.placed')).toBe('order.placed');
    expect(resolved.deadLetterTopicFor('billing')).toBe('billing.dlq');
    expect(resolved.retryTopicFor('billing', 2)).toBe('billing.retry.2');
  });

  it('refuses commands before any connection, pointing to a queue transport', async () => {
    const transport = createKafkaTransport({ brokers: ['127.0.0.1:1'], logLevel: 'nothing' });
    expect(transport.capabilities).toMatchObject({
      events: true,
      commands: false,
      orderedPerKey: true,
    });
    await expect(transport.send([])).rejects.toThrow(CapabilityError);
    await expect(
      transport.subscribe({ name: 'x', kind: 'command', types: ['a'] }, async () => ({
        type: 'ack',
      })),
    ).rejects.toThrow(/@eda\/rabbitmq/);
    await expect(
      transport.subscribe({ name: 'x', kind: 'event', types: ['a'], concurrency: 0 }, async () => ({
        type: 'ack',
      })),
    ).rejects.toThrow(/concurrency is 0/);
    await transport.close();
  });
});

describe('topic names', () => {
  it('accepts Kafka topic characters only', () => {
    expect(assertTopicName('orders.placed_v2-x', 'test')).toBe('orders.placed_v2-x');
    expect(() => assertTopicName('orders placed', 'topicFor("orders placed")')).toThrow(
      /Kafka refuses/,
    );
    expect(() => assertTopicName('a'.repeat(250), 'test')).toThrow(ConfigurationError);
    expect(() => assertTopicName('..', 'test')).toThrow(ConfigurationError);
  });
});

describe('record mapping', () => {
  it('writes binary mode: ce_ headers, content-type, partition key as key, data as value', () => {
    const id = uuidv7();
    const record = toRecord({
      attributes: {
        id,
        type: 't',
        source: 's',
        specversion: '1.0',
        kind: 'event',
        datacontenttype: 'application/json',
        partitionkey: 'order-7',
        version: 3,
      },
      body: new TextEncoder().encode('{"a":1}'),
    });
    expect(record.key).toBe('order-7');
    expect(record.value?.toString()).toBe('{"a":1}');
    expect(record.headers).toMatchObject({
      ce_id: id,
      ce_type: 't',
      ce_version: '3',
      'content-type': 'application/json',
    });
    const { headers, bytes } = headerStrings(
      Object.fromEntries(
        Object.entries(record.headers!).map(([k, v]) => [k, Buffer.from(String(v))]),
      ),
    );
    expect(attributesOf(headers)).toMatchObject({
      id,
      type: 't',
      datacontenttype: 'application/json',
      partitionkey: 'order-7',
    });
    expect(bytes).toBeGreaterThan(20);
  });

  it('reads attributes and header bytes in one pass exactly as the two-step read does', () => {
    const cases: IHeaders[] = [
      {
        ce_id: Buffer.from('a'),
        ce_type: Buffer.from('t'),
        'content-type': Buffer.from('application/json'),
        traceparent: Buffer.from('00-x'),
      },
      // Mixed case, repeated headers (last wins), strings, non-ASCII values, foreign headers.
      {
        CE_Id: Buffer.from('b'),
        ce_id: [Buffer.from('first'), Buffer.from('second')],
        'Content-Type': 'text/plain',
        ce_subject: Buffer.from('Grüße'),
        ce_empty: Buffer.alloc(0),
        'x-other': Buffer.from('z'),
      },
      {},
    ];
    for (const headers of [...cases, undefined]) {
      const { headers: strings, bytes } = headerStrings(headers);
      expect(readRecordHeaders(headers)).toEqual({ attributes: attributesOf(strings), bytes });
    }
  });

  it('reuses the last value of a header only when the bytes are the same ASCII', () => {
    const read = (value: Buffer) => readRecordHeaders({ ce_source: value }).attributes.source;
    expect(read(Buffer.from('orders'))).toBe('orders');
    expect(read(Buffer.from('orders'))).toBe('orders');
    expect(read(Buffer.from('ordert'))).toBe('ordert');
    expect(read(Buffer.from('xrdert'))).toBe('xrdert');
    // Same length as the last value, bytes that are not ASCII: decoded, never matched by char code.
    expect(read(Buffer.from([0x78, 0x72, 0x64, 0x65, 0x72, 0xf4]))).toBe('xrder\ufffd');
    expect(read(Buffer.from('é'))).toBe('é');
    expect(read(Buffer.from([0xe9, 0x20]))).toBe('\ufffd ');
  });

  it('reads the record key as partitionkey when no header carries one', () => {
    expect(withKeyAsPartitionKey({ id: 'a' }, Buffer.from('k-1'))).toEqual({
      id: 'a',
      partitionkey: 'k-1',
    });
    expect(withKeyAsPartitionKey({ partitionkey: 'header' }, Buffer.from('key'))).toEqual({
      partitionkey: 'header',
    });
    expect(withKeyAsPartitionKey({}, Buffer.alloc(0))).toEqual({});
    expect(withKeyAsPartitionKey({}, null)).toEqual({});
  });

  it('writes extension attributes as ce_ headers', () => {
    const record = toRecord({
      attributes: {
        id: 'x',
        type: 't',
        source: 's',
        specversion: '1.0',
        kind: 'event',
        extensions: { tenantid: 't-1' },
      },
      body: new Uint8Array(0),
    });
    expect(record.headers).toMatchObject({ ce_tenantid: 't-1' });
  });

  it('reads retry state only from complete retry headers', () => {
    expect(readRetryState({})).toBeUndefined();
    expect(
      readRetryState({
        [RETRY_HEADERS.attempt]: '3',
        [RETRY_HEADERS.destination]: 'orders',
        [RETRY_HEADERS.due]: '5',
        [RETRY_HEADERS.partition]: '1',
        [RETRY_HEADERS.offset]: '42',
      }),
    ).toEqual({ attempt: 3, dueAt: 5, destination: 'orders', partition: 1, offset: '42' });
    expect(
      readRetryState({ [RETRY_HEADERS.attempt]: 'x', [RETRY_HEADERS.destination]: 'orders' }),
    ).toBeUndefined();
  });
});

describe('per-key order check of the fault tests', () => {
  const log = (...entries: [string, number, string][]) =>
    entries.map(([key, n, member]) => ({ key, n, member }));

  it('accepts in-order handling and replays that run forward from an earlier record', () => {
    expect(
      orderViolations(
        log(
          ['a', 0, 'm1'],
          ['a', 1, 'm1'],
          ['b', 0, 'm1'],
          ['a', 0, 'm2'],
          ['a', 1, 'm2'],
          ['a', 2, 'm2'],
        ),
      ),
    ).toEqual([]);
  });

  it('rejects a stale member finishing n after the new owner handled n + 1', () => {
    // m1 lost the partition while handling 1; m2 handled 1 and 2; m1's 1 lands late.
    const stale = log(
      ['a', 0, 'm1'],
      ['a', 1, 'm2'],
      ['a', 2, 'm2'],
      ['a', 1, 'm1'],
      ['a', 3, 'm2'],
    );
    expect(orderViolations(stale)).toEqual(['key a: 3 (by m2) came right after 1 (by m1)']);
    expect(orderViolations(stale.slice(0, 4))).toEqual([
      'key a: the last record handled was 1 (by m1) after 2 had been: a late repeat',
    ]);
  });

  it('rejects a skip ahead', () => {
    expect(orderViolations(log(['a', 0, 'm1'], ['a', 2, 'm1']))).toEqual([
      'key a: 2 (by m1) came right after 0 (by m1)',
    ]);
  });
});

describe('write refusals', () => {
  it('finds a permanent refusal however deep kafkajs and the writer wrapped it', () => {
    const tooLarge = Object.assign(new Error('too large'), { type: 'MESSAGE_TOO_LARGE' });
    const retriesExceeded = Object.assign(new Error('retries exceeded'), { cause: tooLarge });
    expect(refusalOf(new Error('not acknowledged', { cause: retriesExceeded }))).toBe('too-large');
    const denied = Object.assign(new Error('denied'), { type: 'TOPIC_AUTHORIZATION_FAILED' });
    expect(refusalOf(Object.assign(new Error('aggregate'), { errors: [denied] }))).toBe(
      'not-authorized',
    );
    const missing = Object.assign(new Error('no metadata'), {
      name: 'KafkaJSTopicMetadataNotLoaded',
    });
    expect(refusalOf(missing)).toBe('missing-topic');
  });

  it('leaves transient failures to be retried', () => {
    const timeout = Object.assign(new Error('timeout'), { type: 'REQUEST_TIMED_OUT' });
    expect(refusalOf(new Error('not acknowledged', { cause: timeout }))).toBeUndefined();
    expect(refusalOf(new Error('connection closed'))).toBeUndefined();
  });
});
