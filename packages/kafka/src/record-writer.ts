// The transport's one producer: connected on first use, shared by publish, dead letters and
// retry topics, and disconnected only by the transport that created it.
import { UnavailableError } from '@eda/core';
import { CompressionTypes, type Kafka, type Message, Partitioners, type Producer } from 'kafkajs';
import type { KafkaCompression, KafkaProducerOptions } from './kafka-transport-options.js';

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

/** Writes records with the configured acks, compression and timeout. */
export class RecordWriter {
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: Required<KafkaProducerOptions>,
  ) {}

  /**
   * Writes every record in one batched request per broker; resolves when the broker
   * acknowledged all of them with the configured acks.
   * @throws UnavailableError when the broker did not acknowledge (some records may be stored).
   */
  async write(batches: readonly TopicRecords[]): Promise<void> {
    if (!batches.length) return;
    const producer = await this.connect();
    try {
      await producer.sendBatch({
        acks: this.options.acks,
        timeout: this.options.timeoutMs,
        compression: COMPRESSION[this.options.compression],
        topicMessages: batches.map((b) => ({ topic: b.topic, messages: b.messages })),
      });
    } catch (cause) {
      throw new UnavailableError(
        `Kafka transport: the broker did not acknowledge ${batches.reduce((n, b) => n + b.messages.length, 0)} record(s) for ${batches.map((b) => b.topic).join(', ')}: ${(cause as Error).message}. Some may have been stored; publish again (consumers dedupe by id).`,
        { cause },
      );
    }
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
