// The dead-letter admin over Kafka: lists, redrives and discards what a subscription wrote to its
// dead-letter topic. A Kafka record cannot be deleted on its own, so which dead letters were
// redriven or discarded is kept in a small compacted "settled" topic next to the dead-letter
// topic, keyed by the dead letter's handle.
import {
  ClosedError,
  ConfigurationError,
  type DeadLetter,
  type DeadLetterAdmin,
  REDRIVE_HEADERS,
  UnavailableError,
} from '@eda/core';
import {
  DEAD_LETTER_HEADERS,
  deadLetterOf,
  redriveHeaders,
  selectForRedrive,
  setOwn,
} from '@eda/core/adapter';
import type { IHeaders, Message } from 'kafkajs';
import { clientOf, lazyAdmin } from './kafka-client.js';
import { type KafkaTransportOptions, resolveKafkaOptions } from './kafka-transport-options.js';
import { PartitionCounts } from './partition-counts.js';
import {
  attributesOf,
  headerStrings,
  receivedValues,
  withKeyAsPartitionKey,
} from './record-mapping.js';
import { RecordWriter } from './record-writer.js';
import { INTERNAL_HEADER_NAMES } from './retry-headers.js';
import { BODY_DROPPED_HEADER } from './settle-record.js';
import { assertTopicName, checkedDeadLetterTopicFor } from './topic-names.js';
import { TopicReader, type TopicRecord } from './topic-reader.js';
import { TopicRegistry } from './topic-registry.js';

/**
 * Options of `createKafkaDeadLetterAdmin`: the transport's options (pass the same object so the
 * admin names topics as the transport does: `topicPrefix`, `deadLetterTopicFor`), plus its own.
 * Consumer, retry and command options are accepted and not used; the producer's `compression`
 * and `timeoutMs` are, while its writes always use acks -1 and the idempotent producer.
 */
export interface KafkaDeadLetterAdminOptions extends KafkaTransportOptions {
  /**
   * The compacted topic recording which dead letters of a dead-letter topic were redriven or
   * discarded. Created (one partition, `cleanup.policy=compact`) on the first redrive or discard
   * when missing, unless `topics.autoCreate` is false.
   * @default deadLetterTopic + '.settled'
   */
  readonly settledTopicFor?: (deadLetterTopic: string) => string;
  /**
   * Longest one `list`, `get`, `redrive` or `discard` waits to read the dead-letter and settled
   * topics to their end (a first read also joins a consumer group) before it throws.
   * @default 30000
   */
  readonly readTimeoutMs?: number;
  /**
   * Group id prefix of the admin's readers: one consumer per topic read, with a random suffix,
   * committing nothing.
   * @default topicPrefix + 'eda-dead-letter-admin-'
   */
  readonly readerGroupPrefix?: string;
}

/** What the settled topic holds per handle. */
interface SettledMark {
  readonly action: 'redriven' | 'discarded';
  /** When (ISO 8601). */
  readonly at: string;
}

/** A dead letter with the record it was read from. */
interface Found {
  readonly deadLetter: DeadLetter;
  readonly record: TopicRecord;
}

const WHO = 'Kafka dead-letter admin';

/** The transport's own bookkeeping: a redriven copy starts over without it. */
const DROPPED_ON_REDRIVE: ReadonlySet<string> = new Set([
  ...INTERNAL_HEADER_NAMES,
  BODY_DROPPED_HEADER,
]);
const REDRIVE_HEADER_NAMES: ReadonlySet<string> = new Set(Object.values(REDRIVE_HEADERS));

/**
 * Creates the dead-letter admin of the Kafka transport. Nothing connects until the first call.
 *
 * - A dead letter's handle is `<partition>:<offset>` of its record in the subscription's
 *   dead-letter topic (`deadLetterTopicFor(subscription)`, default `<prefix><subscription>.dlq`).
 * - `list` returns the oldest first by record timestamp (when the dead letter was written), then
 *   partition and offset. Dead letters that were redriven or discarded are left out: their
 *   handles are marked in the compacted settled topic (`settledTopicFor`), as
 *   `{"action":"redriven"|"discarded","at":...}` keyed by handle.
 * - `redrive` writes a copy to the dead letter's original topic, on its original partition
 *   (`x-eda-original-partition`, else by key), with its key, body and headers minus the
 *   dead-letter, retry and redrive bookkeeping, plus `x-eda-redrive-for` (only that subscription
 *   handles it), then marks it redriven. Redrive is at least once: a crash between the copy and
 *   the mark leaves the dead letter listed, and a second redrive sends the same message id again
 *   (a subscription with dedupe recognises it). Concurrent redrives of one dead letter from two
 *   admins can both send it; one admin runs its redrives and discards one at a time.
 * - Not redriven, and left listed: a dead letter whose body was left out because it was too
 *   large (`x-eda-body-dropped-bytes`: the copy would deliver an empty body; the original stays
 *   at its original offset until retention removes it), and one without an original topic (a
 *   record written to the dead-letter topic by hand). Discard them once handled another way.
 * - Every topic read is kept in memory by one tailing consumer, until `close()`.
 *
 * @throws ConfigurationError for invalid options.
 */
export function createKafkaDeadLetterAdmin(options: KafkaDeadLetterAdminOptions): DeadLetterAdmin {
  const resolved = resolveKafkaOptions(options);
  const {
    settledTopicFor = (deadLetterTopic: string) => `${deadLetterTopic}.settled`,
    readTimeoutMs = 30_000,
    readerGroupPrefix = `${options.topicPrefix ?? ''}eda-dead-letter-admin-`,
  } = options;
  if (!Number.isSafeInteger(readTimeoutMs) || readTimeoutMs < 1) {
    throw new ConfigurationError(
      `${WHO} option readTimeoutMs is ${readTimeoutMs}: use an integer of milliseconds >= 1.`,
    );
  }
  const kafka = clientOf(options, WHO);
  // kafkajs's own retries are kept short: the reader retries within readTimeoutMs itself.
  const admin = lazyAdmin(kafka, { retry: { retries: 3, initialRetryTime: 100 } });
  const partitionCounts = new PartitionCounts(admin.get);
  const writer = new RecordWriter(
    kafka,
    {
      acks: -1,
      idempotent: true,
      compression: resolved.producer.compression,
      timeoutMs: resolved.producer.timeoutMs,
    },
    partitionCounts,
  );
  const registry = new TopicRegistry(admin.get);
  const reader = new TopicReader(kafka, admin.get, {
    groupPrefix: readerGroupPrefix,
    timeoutMs: readTimeoutMs,
    onError: resolved.onError,
    who: WHO,
  });
  const deadLetterTopicFor = checkedDeadLetterTopicFor(resolved.deadLetterTopicFor);
  const settledTopicOf = (deadLetterTopic: string) =>
    assertTopicName(settledTopicFor(deadLetterTopic), `settledTopicFor("${deadLetterTopic}")`);
  /** Handles this admin settled, by settled topic, until its reader has read the marks back. */
  const settledHere = new Map<string, Set<string>>();
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new ClosedError(WHO);
  };
  // Redrives and discards of one admin run one at a time, so two calls cannot send one twice.
  let settling: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(work: () => Promise<T>): Promise<T> => {
    const run = settling.then(work, work);
    settling = run.catch(() => undefined);
    return run;
  };

  /** Every dead letter of `subscription` not redriven or discarded, oldest first. */
  const unsettled = async (subscription: string): Promise<Found[]> => {
    assertOpen();
    const topic = deadLetterTopicFor(subscription);
    const settledTopic = settledTopicOf(topic);
    const [records, marks] = await Promise.all([reader.read(topic), reader.read(settledTopic)]);
    const settled = settledHandles(marks, settledHere.get(settledTopic));
    return (
      records
        .filter((record) => !settled.has(handleOf(record)))
        // Stable: records written at the same millisecond keep the reader's partition and offset order.
        .sort((a, b) => a.timestamp - b.timestamp)
        .map((record) => ({ deadLetter: viewOf(subscription, record), record }))
    );
  };

  /** Writes the marks of `handles` to the settled topic, creating it when missing. */
  const markSettled = async (
    subscription: string,
    handles: readonly string[],
    action: SettledMark['action'],
  ): Promise<void> => {
    const settledTopic = settledTopicOf(deadLetterTopicFor(subscription));
    const mark: SettledMark = { action, at: new Date().toISOString() };
    const value = JSON.stringify(mark);
    await writer.write([
      { topic: settledTopic, messages: handles.map((handle) => ({ key: handle, value })) },
    ]);
    const here = settledHere.get(settledTopic) ?? new Set();
    for (const handle of handles) here.add(handle);
    settledHere.set(settledTopic, here);
  };

  /** Makes sure the settled topic can take marks before any copy is sent. */
  const ensureSettledTopic = async (subscription: string): Promise<void> => {
    const settledTopic = settledTopicOf(deadLetterTopicFor(subscription));
    if (resolved.topics.autoCreate) {
      await registry.ensure([settledTopic], {
        partitions: 1,
        replicationFactor: resolved.topics.replicationFactor,
        config: { ...resolved.topics.config, 'cleanup.policy': 'compact' },
      });
      return;
    }
    try {
      await partitionCounts.of([settledTopic]);
    } catch (cause) {
      throw new ConfigurationError(
        `${WHO} cannot find its settled topic "${settledTopic}" (${(cause as Error).message}), and topics.autoCreate is false: create it with cleanup.policy=compact (one partition is enough), or turn topics.autoCreate on.`,
        { cause },
      );
    }
  };

  return {
    async list(subscription, { code, limit = 100 } = {}) {
      if (!Number.isSafeInteger(limit) || limit < 0) {
        throw new ConfigurationError(`${WHO}: list limit is ${limit}: use an integer >= 0.`);
      }
      return (await unsettled(subscription))
        .map((found) => found.deadLetter)
        .filter((d) => code === undefined || d.reason.code === code)
        .slice(0, limit);
    },

    async get(subscription, handle) {
      return (await unsettled(subscription)).find((f) => f.deadLetter.handle === handle)
        ?.deadLetter;
    },

    redrive(subscription, selection) {
      return oneAtATime(async () => {
        const available = await unsettled(subscription);
        const records = new Map(available.map((f) => [f.deadLetter.handle, f.record]));
        const chosen = selectForRedrive(
          available.map((f) => f.deadLetter),
          selection,
        ).filter(redrivable);
        if (!chosen.length) return [];
        await ensureSettledTopic(subscription);
        const copies = await redriveCopies(subscription, chosen, records);
        await writer.write([...copies].map(([topic, messages]) => ({ topic, messages })));
        await markSettled(
          subscription,
          chosen.map((d) => d.handle),
          'redriven',
        );
        return chosen;
      });
    },

    discard(subscription, handle) {
      return oneAtATime(async () => {
        const found = (await unsettled(subscription)).some((f) => f.deadLetter.handle === handle);
        if (!found) return false;
        await ensureSettledTopic(subscription);
        await markSettled(subscription, [handle], 'discarded');
        return true;
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      await settling;
      await reader.close();
      await writer.close();
      await admin.close();
    },
  };

  /** The copies to write, by topic: each on its original partition when that still exists. */
  async function redriveCopies(
    subscription: string,
    chosen: readonly DeadLetter[],
    records: ReadonlyMap<string, TopicRecord>,
  ): Promise<Map<string, Message[]>> {
    const destinations = [...new Set(chosen.map((d) => d.destination))];
    let counts: ReadonlyMap<string, number>;
    try {
      counts = await partitionCounts.of(destinations);
    } catch (cause) {
      throw new UnavailableError(
        `${WHO} cannot redrive dead letters of "${subscription}" to ${destinations.join(', ')}: ${(cause as Error).message}`,
        { cause },
      );
    }
    const byTopic = new Map<string, Message[]>();
    for (const deadLetter of chosen) {
      const record = records.get(deadLetter.handle) as TopicRecord;
      const original = deadLetter.headers[DEAD_LETTER_HEADERS.partition] ?? '';
      const partition = /^\d{1,9}$/.test(original) ? Number(original) : -1;
      const samePartition = partition >= 0 && partition < (counts.get(deadLetter.destination) ?? 0);
      const message: Message = {
        key: record.key,
        value: record.value,
        headers: copyHeaders(
          record.headers,
          redriveHeaders(deadLetter.headers, subscription, deadLetter.handle, DROPPED_ON_REDRIVE),
        ),
        ...(samePartition ? { partition } : {}),
      };
      const messages = byTopic.get(deadLetter.destination) ?? [];
      messages.push(message);
      byTopic.set(deadLetter.destination, messages);
    }
    return byTopic;
  }
}

function handleOf(record: TopicRecord): string {
  return `${record.partition}:${record.offset}`;
}

function viewOf(subscription: string, record: TopicRecord): DeadLetter {
  const { headers } = headerStrings(record.headers);
  return deadLetterOf({
    handle: handleOf(record),
    subscription,
    headers,
    attributes: withKeyAsPartitionKey(attributesOf(headers), record.key),
    // A copy: the caller may change what it gets without changing what the reader holds.
    body: record.value ? Uint8Array.from(record.value) : new Uint8Array(0),
  });
}

/** A dead letter that can be sent back: its body was kept and its original topic is known. */
function redrivable(deadLetter: DeadLetter): boolean {
  return deadLetter.headers[BODY_DROPPED_HEADER] === undefined && deadLetter.destination !== '';
}

/**
 * The handles the settled topic marks (the last record of a handle wins, and an empty value
 * unmarks it, as compaction would), plus those this admin marked and may not have read back.
 */
function settledHandles(
  marks: readonly TopicRecord[],
  here: ReadonlySet<string> | undefined,
): Set<string> {
  const settled = new Set<string>();
  for (const mark of marks) {
    const handle = mark.key?.toString();
    if (handle === undefined) continue;
    if (mark.value === null) settled.delete(handle);
    else settled.add(handle);
  }
  for (const handle of here ?? []) settled.add(handle);
  return settled;
}

/**
 * The redriven copy's headers: those `redriveHeaders` keeps, with the record's own values (bytes
 * and repeats as they were), and the redrive headers it adds.
 */
function copyHeaders(original: IHeaders, kept: Readonly<Record<string, string>>): IHeaders {
  const out: IHeaders = {};
  for (const [name, value] of Object.entries(kept)) {
    const values = REDRIVE_HEADER_NAMES.has(name) ? [] : receivedValues(original[name]);
    setOwn(out, name, values.length === 0 ? value : values.length === 1 ? values[0] : values);
  }
  return out;
}
