// Commits queued across a rejoin: kafkajs builds a commit with the generation current when it is
// sent, not the one whose batch asked for it, so a commit that waited in the partition's chain
// while the member rejoined would go out under the new generation (and could move a partition
// that now belongs to another member backwards). processBatch must drop it.
import type { DeliveryHandler } from '@eda/core/adapter';
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { processBatch } from '../src/batch-processor.js';
import { resolveKafkaOptions } from '../src/kafka-transport-options.js';
import type { RecordWriter } from '../src/record-writer.js';
import { Slots } from '../src/slots.js';
import type { SubscriptionContext } from '../src/subscription-context.js';
import { type KafkaTransportEvent, TransportMonitor } from '../src/transport-events.js';

function record(offset: number): KafkaMessage {
  return {
    key: null,
    value: Buffer.from('{}'),
    headers: {},
    offset: String(offset),
    timestamp: String(Date.now()),
    attributes: 0,
    size: 0,
  } as KafkaMessage;
}

/** A batch of `offsets` on t/0 whose commits go to `commit` (the offset sent). */
function batchOf(offsets: number[], commit: (offset: string) => Promise<void>): EachBatchPayload {
  return {
    batch: { topic: 't', partition: 0, messages: offsets.map(record) },
    resolveOffset: () => undefined,
    heartbeat: async () => undefined,
    commitOffsetsIfNecessary: (offsets: { topics: { partitions: { offset: string }[] }[] }) =>
      commit(offsets.topics[0]!.partitions[0]!.offset),
  } as unknown as EachBatchPayload;
}

function contextFor(events: KafkaTransportEvent[]): SubscriptionContext {
  const handler: DeliveryHandler = async () => ({ type: 'ack' });
  return {
    name: 'epoch-test',
    handler,
    slots: new Slots(1),
    writer: {} as RecordWriter,
    options: resolveKafkaOptions({ logLevel: 'nothing', onError: () => undefined }),
    deadLetterTopic: 'epoch-test.dlq',
    retryTopics: [],
    attempts: new Map(),
    closing: new AbortController().signal,
    killed: new AbortController().signal,
    commitChains: new Map(),
    monitor: new TransportMonitor((e) => events.push(e)),
    fail: () => undefined,
    membership: { epoch: 1 },
    retryDeadlines: new Map(),
    pausedByUser: () => false,
  };
}

describe('commits across a rejoin', () => {
  it('drops a commit queued before the member rejoined, and sends the ones of the new membership', async () => {
    const events: KafkaTransportEvent[] = [];
    const ctx = contextFor(events);
    const sent: string[] = [];
    let releaseFirst!: () => void;
    const firstInFlight = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    const payloadOf = (offset: number) =>
      batchOf([offset], async (sentOffset) => {
        sent.push(sentOffset);
        // The first commit is slow, so the next one waits behind it in the chain.
        if (sentOffset === '1') await firstInFlight;
      });

    await processBatch(payloadOf(0), ctx);
    await processBatch(payloadOf(1), ctx);
    expect(sent).toEqual(['1']);
    // The member rejoins while the second commit waits.
    ctx.membership.epoch += 1;
    releaseFirst();
    await Promise.all(ctx.commitChains.values());
    expect(sent).toEqual(['1']);
    expect(events).toContainEqual({
      kind: 'commit-dropped',
      subscription: 'epoch-test',
      topic: 't',
      partition: 0,
      offset: '2',
    });
    // A batch fetched in the new membership commits normally.
    await processBatch(payloadOf(2), ctx);
    await Promise.all(ctx.commitChains.values());
    expect(sent).toEqual(['1', '3']);
  });
});

describe('a commit that failed while the member kept its partition', () => {
  it('is sent again, with no later record, so the tail of the partition gets committed', async () => {
    const ctx = contextFor([]);
    const errors: unknown[] = [];
    const withErrors = {
      ...ctx,
      options: { ...ctx.options, onError: (e: unknown) => errors.push(e) },
    };
    const sent: string[] = [];
    let failures = 1;
    const payload = batchOf([0, 1, 2], async (offset) => {
      sent.push(offset);
      // A request timeout under load: the member stays in its generation.
      if (failures-- > 0)
        throw Object.assign(new Error('Request OffsetCommit timed out'), {
          name: 'KafkaJSRequestTimeoutError',
        });
    });

    await processBatch(payload, withErrors);
    await Promise.all(ctx.commitChains.values());
    expect(sent).toEqual(['3']);
    expect(errors).toHaveLength(1);
    // At the default commit interval (1 s) the same offset goes out again, and only once.
    await expect.poll(() => sent, { timeout: 5000 }).toEqual(['3', '3']);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(sent).toEqual(['3', '3']);
  });

  it('is not sent again once a later batch of the partition committed further', async () => {
    const ctx = contextFor([]);
    const sent: string[] = [];
    let failures = 1;
    const payloadOf = (offset: number) =>
      batchOf([offset], async (sentOffset) => {
        sent.push(sentOffset);
        if (failures-- > 0) throw new Error('Connection timeout');
      });

    await processBatch(payloadOf(0), ctx);
    await processBatch(payloadOf(1), ctx);
    await Promise.all(ctx.commitChains.values());
    expect(sent).toEqual(['1', '2']);
    // A retry of offset 1 now would move the group back from 2.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(sent).toEqual(['1', '2']);
  });
});
