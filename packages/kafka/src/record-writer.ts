// The transport's one producer: connected on first use, shared by publish, dead letters and
// retry topics, and disconnected only by the transport that created it.
//
// Why the writer picks partitions and checks the acknowledgements itself: kafkajs 2.2.4 retries a
// batch that failed on one broker, but remembers the brokers that answered the first attempt and
// skips them. When the failed broker's partitions moved to one of those (a leader SIGKILLed in a
// three-broker cluster), their records are never sent and sendBatch still resolves: the relay
// marked them published and they were lost (the cluster crash run, CI of stop 22). With each
// record's partition fixed before the call, every partition that got records must appear in the
// acknowledgements; records of a partition that does not are sent again.
import { UnavailableError } from '@eda/core';
import {
  CompressionTypes,
  type Kafka,
  type Message,
  Partitioners,
  type PartitionMetadata,
  type Producer,
  type RecordMetadata,
} from 'kafkajs';
import type { KafkaCompression, KafkaProducerOptions } from './kafka-transport-options.js';
import type { PartitionCounts } from './partition-counts.js';

const COMPRESSION: Readonly<Record<KafkaCompression, CompressionTypes>> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

/** Records for one topic. */
export interface TopicRecords {
  readonly topic: string;
  readonly messages: Message[];
}

/** Records sent again because their partition was missing from the acknowledgements. */
export interface ResentRecords {
  readonly topic: string;
  readonly partitions: readonly number[];
  readonly records: number;
}

/** Sends of one write after the first, for partitions left unacknowledged, before it fails. */
const MAX_RESENDS = 5;

/** Writes records with the configured acks, compression and timeout. */
export class RecordWriter {
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;
  // kafkajs's own default partitioner (murmur2 of the key, as Java's; round robin without a key),
  // run here so a record keeps its partition across the producer's retries.
  private readonly partitioner = Partitioners.DefaultPartitioner();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: Required<KafkaProducerOptions>,
    private readonly partitionCounts: PartitionCounts,
    private readonly onResent: (resent: ResentRecords) => void = () => undefined,
  ) {}

  /**
   * Writes every record in one batched request per broker; resolves when the broker
   * acknowledged all of them with the configured acks (with acks 0, when they were sent).
   * @throws UnavailableError when the broker did not acknowledge (some records may be stored).
   */
  async write(batches: readonly TopicRecords[]): Promise<void> {
    if (!batches.length) return;
    const producer = await this.connect();
    let unacknowledged = await this.withPartitions(batches);
    for (let resends = 0; ; resends++) {
      const acknowledged = await this.send(producer, unacknowledged);
      // acks 0 asks for no acknowledgement: there is nothing to check.
      if (this.options.acks === 0) return;
      unacknowledged = leftOut(unacknowledged, acknowledged);
      if (!unacknowledged.length) return;
      if (resends === MAX_RESENDS)
        throw new UnavailableError(
          `Kafka transport: after ${MAX_RESENDS + 1} sends the broker still did not acknowledge ${describe(unacknowledged)}. Publish again (consumers dedupe by id).`,
        );
      for (const batch of unacknowledged)
        this.onResent({
          topic: batch.topic,
          partitions: [...new Set(batch.messages.map((m) => m.partition as number))],
          records: batch.messages.length,
        });
    }
  }

  private async send(producer: Producer, batches: readonly TopicRecords[]) {
    try {
      return await producer.sendBatch({
        acks: this.options.acks,
        timeout: this.options.timeoutMs,
        compression: COMPRESSION[this.options.compression],
        topicMessages: batches.map((b) => ({ topic: b.topic, messages: b.messages })),
      });
    } catch (cause) {
      throw new UnavailableError(
        `Kafka transport: the broker did not acknowledge ${describe(batches)}: ${(cause as Error).message}. Some may have been stored; publish again (consumers dedupe by id).`,
        { cause },
      );
    }
  }

  /** The records with their partition set, as kafkajs's default partitioner would choose it. */
  private async withPartitions(batches: readonly TopicRecords[]): Promise<TopicRecords[]> {
    const counts = await this.partitionCounts.of(batches.map((b) => b.topic));
    return batches.map(({ topic, messages }) => {
      const partitionMetadata = partitionsOf(counts.get(topic) as number);
      return {
        topic,
        messages: messages.map((message) => ({
          ...message,
          partition: this.partitioner({ topic, partitionMetadata, message }),
        })),
      };
    });
  }

  /** Disconnects the producer if it was connected. */
  async close(): Promise<void> {
    const connecting = this.connecting;
    this.connecting = undefined;
    this.producer = undefined;
    if (!connecting) return;
    const producer = await connecting.catch(() => undefined);
    await producer?.disconnect();
  }

  private connect(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    if (!this.connecting) {
      const producer = this.kafka.producer({
        idempotent: this.options.idempotent,
        // kafkajs's idempotent producer is marked experimental: one request in flight keeps
        // its sequence numbers from racing each other on retries.
        ...(this.options.idempotent ? { maxInFlightRequests: 1 } : {}),
        allowAutoTopicCreation: false,
        // Java-compatible murmur2 key hashing: a key lands on the same partition as it would
        // from a Java producer (and kafkajs stops warning about its changed default).
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      const connecting = producer.connect().then(() => {
        this.producer = producer;
        return producer;
      });
      this.connecting = connecting;
      connecting.catch(() => {
        if (this.connecting === connecting) this.connecting = undefined;
      });
    }
    return this.connecting.catch((cause) => {
      throw new UnavailableError(
        `Kafka transport could not connect its producer: ${(cause as Error).message}.`,
        { cause },
      );
    });
  }
}

/** Metadata of `count` partitions, as much as the default partitioner reads (all have a leader). */
function partitionsOf(count: number): PartitionMetadata[] {
  return Array.from({ length: count }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [],
    isr: [],
  }));
}

/** The records whose partition no acknowledgement names. */
function leftOut(
  batches: readonly TopicRecords[],
  acknowledged: readonly RecordMetadata[],
): TopicRecords[] {
  const done = new Set(
    acknowledged.filter((a) => a.errorCode === 0).map((a) => `${a.partition} ${a.topicName}`),
  );
  return batches
    .map(({ topic, messages }) => ({
      topic,
      messages: messages.filter((m) => !done.has(`${m.partition} ${topic}`)),
    }))
    .filter((batch) => batch.messages.length > 0);
}

function describe(batches: readonly TopicRecords[]): string {
  const records = batches.reduce((n, b) => n + b.messages.length, 0);
  return `${records} record(s) for ${batches.map((b) => b.topic).join(', ')}`;
}
