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

describe('commits across a rejoin', () => {
  it('drops a commit queued before the member rejoined, and sends the ones of the new membership', async () => {
    const events: KafkaTransportEvent[] = [];
    const handler: DeliveryHandler = async () => ({ type: 'ack' });
    const ctx: SubscriptionContext = {
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
    const sent: string[] = [];
    let releaseFirst!: () => void;
    const firstInFlight = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    const payloadOf = (offset: number): EachBatchPayload =>
      ({
        batch: { topic: 't', partition: 0, messages: [record(offset)] },
        resolveOffset: () => undefined,
        heartbeat: async () => undefined,
        commitOffsetsIfNecessary: async (offsets: {
          topics: { partitions: { offset: string }[] }[];
        }) => {
          const offset = offsets.topics[0]!.partitions[0]!.offset;
          sent.push(offset);
          // The first commit is slow, so the next one waits behind it in the chain.
          if (offset === '1') await firstInFlight;
        },
      }) as unknown as EachBatchPayload;

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
