// Reads a dead-letter topic back from the broker for the contract suite: one tailing consumer per
// topic, and each read first catches up to the topic's current end.
import type { DeadLetterRecord } from '@eda/test-suite';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { attributesOf, bodyOf, headerStrings } from '../src/record-mapping.js';
import { sleep } from './helpers.js';

interface Tail {
  readonly consumer: Consumer;
  readonly records: DeadLetterRecord[];
  /** Highest offset read per partition. */
  readonly read: Map<number, bigint>;
}

export class DeadLetterReader {
  private readonly tails = new Map<string, Promise<Tail>>();

  constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly groupPrefix: string,
  ) {}

  /** Every record of `topic` up to its current end, oldest first per partition. */
  async read(topic: string, catchUpMs = 15_000): Promise<readonly DeadLetterRecord[]> {
    if (!(await this.admin.listTopics()).includes(topic)) return [];
    const ends = await this.endOffsets(topic);
    if (ends.every((p) => p.high === p.low)) return [];
    const tail = await this.tail(topic);
    const deadline = Date.now() + catchUpMs;
    const caughtUp = () =>
      ends.every(
        (p) => p.high === p.low || (tail.read.get(p.partition) ?? -1n) >= BigInt(p.high) - 1n,
      );
    while (!caughtUp() && Date.now() < deadline) await sleep(20);
    return [...tail.records];
  }

  /** End offsets; right after a topic is created the broker may briefly answer "not the leader". */
  private async endOffsets(topic: string) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.admin.fetchTopicOffsets(topic);
      } catch (error) {
        if (attempt >= 20 || (error as { retriable?: boolean }).retriable === false) throw error;
        await sleep(250);
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.tails.values()].map(async (t) =>
        (await t.catch(() => undefined))?.consumer.disconnect(),
      ),
    );
  }

  private tail(topic: string): Promise<Tail> {
    let tail = this.tails.get(topic);
    if (!tail) {
      tail = (async () => {
        const consumer = this.kafka.consumer({
          groupId: `${this.groupPrefix}dlq-reader-${Math.random().toString(36).slice(2)}`,
          maxWaitTimeInMs: 100,
        });
        const state: Tail = { consumer, records: [], read: new Map() };
        await consumer.connect();
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ partition, message }) => {
            const { headers } = headerStrings(message.headers);
            state.records.push({
              headers,
              attributes: attributesOf(headers),
              body: new Uint8Array(bodyOf(message)),
            });
            state.read.set(partition, BigInt(message.offset));
          },
        });
        return state;
      })();
      this.tails.set(topic, tail);
    }
    return tail;
  }
}
