// Reads whole topics for the dead-letter admin. kafkajs reads only through a consumer group, and
// joining one takes seconds, so each topic gets one tailing consumer, started on its first read
// from the beginning and kept running; every read first waits until that consumer has reached
// the end offsets the topic has now, so what was written before the read is in its answer.
import { randomUUID } from 'node:crypto';
import { ClosedError, UnavailableError } from '@eda/core';
import { abortableSleep } from '@eda/core/adapter';
import type { Admin, Consumer, IHeaders, Kafka } from 'kafkajs';

/** One record as the reader keeps it. */
export interface TopicRecord {
  readonly partition: number;
  readonly offset: string;
  /** Record timestamp, epoch milliseconds. */
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: IHeaders;
}

export interface TopicReaderOptions {
  /** Group id prefix of the tailing consumers (each adds a random suffix; none commits). */
  readonly groupPrefix: string;
  /** Longest one read may take, its retries of the end offsets included. */
  readonly timeoutMs: number;
  /** Told about a tailing consumer that crashed. */
  readonly onError: (error: unknown) => void;
  /** Names the reader in errors. */
  readonly who: string;
}

interface Tail {
  readonly consumer: Consumer;
  /** Records by `partition:offset`: a consumer that reads a partition again overwrites them. */
  readonly records: Map<string, TopicRecord>;
  /** The next offset to read, per partition. */
  readonly next: Map<number, bigint>;
  /** Set when kafkajs gave the consumer up; the next read starts another. */
  failed?: Error;
}

/** End offsets of one partition, as kafkajs's admin reports them. */
interface PartitionEnds {
  readonly partition: number;
  readonly low: string;
  readonly high: string;
}

/** Errors kafkajs marks retriable, also when wrapped by its own retrier giving up. */
function retriable(error: unknown): boolean {
  const e = error as { name?: string; retriable?: boolean; cause?: unknown } | undefined;
  if (e?.name === 'KafkaJSNumberOfRetriesExceeded') return retriable(e.cause);
  return e?.retriable === true;
}

const messageOf = (error: unknown) => (error as Error)?.message ?? String(error);

export class TopicReader {
  private readonly tails = new Map<string, Promise<Tail>>();
  /** Aborted by close(): ends the waits of reads in progress. */
  private readonly closing = new AbortController();

  constructor(
    private readonly kafka: Kafka,
    private readonly admin: () => Promise<Admin>,
    private readonly options: TopicReaderOptions,
  ) {}

  /**
   * Every record of `topic` up to the end it has when the call starts, by partition then
   * offset; none when the topic does not exist.
   * @throws UnavailableError when the broker cannot be read or the end is not reached within
   * `timeoutMs`; ClosedError after `close()`.
   */
  async read(topic: string): Promise<TopicRecord[]> {
    this.assertOpen();
    const deadline = Date.now() + this.options.timeoutMs;
    const ends = await this.endOffsets(topic, deadline);
    if (ends === undefined) return [];
    const low = new Map(ends.map((p) => [p.partition, BigInt(p.low)]));
    const pending = ends.filter((p) => BigInt(p.high) > BigInt(p.low));
    // An empty topic needs no consumer (and no group join) until something is written to it.
    if (!pending.length && !this.tails.has(topic)) return [];
    const tail = await this.tail(topic);
    const behind = () => pending.filter((p) => (tail.next.get(p.partition) ?? 0n) < BigInt(p.high));
    for (let left = behind(); left.length; left = behind()) {
      this.assertOpen();
      if (tail.failed) {
        throw new UnavailableError(
          `${this.options.who} lost its reader of topic "${topic}": ${tail.failed.message}. Try again.`,
          { cause: tail.failed },
        );
      }
      if (Date.now() >= deadline) {
        const where = left
          .map(
            (p) =>
              `partition ${p.partition} at ${tail.next.get(p.partition) ?? 'none'} of ${p.high}`,
          )
          .join(', ');
        throw new UnavailableError(
          `${this.options.who} could not read topic "${topic}" to its end within ${this.options.timeoutMs} ms (${where}). The broker may be slow or partitions were just added: try again, or raise readTimeoutMs.`,
        );
      }
      await abortableSleep(20, this.closing.signal);
    }
    // Records that retention removed since they were read are gone from the broker too.
    return [...tail.records.values()]
      .filter((r) => BigInt(r.offset) >= (low.get(r.partition) ?? 0n))
      .sort((a, b) => a.partition - b.partition || compareOffsets(a.offset, b.offset));
  }

  /** Stops every tailing consumer; reads after this throw ClosedError. */
  async close(): Promise<void> {
    this.closing.abort();
    const tails = [...this.tails.values()];
    this.tails.clear();
    await Promise.all(
      tails.map(async (t) => (await t.catch(() => undefined))?.consumer.disconnect()),
    );
  }

  private assertOpen(): void {
    if (this.closing.signal.aborted) throw new ClosedError(this.options.who);
  }

  /**
   * The topic's low and high offsets per partition, undefined when it does not exist. Right
   * after a topic was created (or a broker restarted) the broker answers "not the leader" or
   * "unknown partition" for a while: those are asked again until the deadline.
   */
  private async endOffsets(topic: string, deadline: number): Promise<PartitionEnds[] | undefined> {
    for (let waitMs = 100; ; waitMs = Math.min(2000, waitMs * 2)) {
      try {
        const admin = await this.admin();
        // Asked first: kafkajs retries the offsets of a missing topic for tens of seconds.
        if (!(await admin.listTopics()).includes(topic)) return undefined;
        return await admin.fetchTopicOffsets(topic);
      } catch (error) {
        if (!retriable(error) || Date.now() + waitMs >= deadline) {
          throw new UnavailableError(
            `${this.options.who} could not read the end offsets of topic "${topic}": ${messageOf(error)}. Check that the broker is reachable, then try again.`,
            { cause: error },
          );
        }
        await abortableSleep(waitMs, this.closing.signal);
      }
    }
  }

  /** The topic's tailing consumer, started when there is none or kafkajs gave it up. */
  private async tail(topic: string): Promise<Tail> {
    const known = this.tails.get(topic);
    if (known) {
      const current = await known;
      if (!current.failed) return current;
      if (this.tails.get(topic) === known) this.tails.delete(topic);
      await current.consumer.disconnect().catch(() => undefined);
    }
    // Another read may have started one while this one waited.
    let started = this.tails.get(topic);
    if (!started) {
      const starting = this.start(topic);
      this.tails.set(topic, starting);
      starting.catch(() => {
        if (this.tails.get(topic) === starting) this.tails.delete(topic);
      });
      started = starting;
    }
    return started;
  }

  private async start(topic: string): Promise<Tail> {
    const consumer = this.kafka.consumer({
      groupId: `${this.options.groupPrefix}${randomUUID()}`,
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
    });
    const tail: Tail = { consumer, records: new Map(), next: new Map() };
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.options.onError(
        new UnavailableError(
          `${this.options.who}: the reader of topic "${topic}" crashed: ${payload.error.message}${payload.restart ? ' (kafkajs restarts it)' : ' (replaced on the next read)'}.`,
          { cause: payload.error },
        ),
      );
      if (!payload.restart) tail.failed = payload.error;
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            tail.records.set(`${batch.partition}:${m.offset}`, {
              partition: batch.partition,
              offset: m.offset,
              timestamp: Number(m.timestamp),
              key: m.key,
              value: m.value,
              headers: m.headers ?? {},
            });
          }
          const next = BigInt(batch.lastOffset()) + 1n;
          if (next > (tail.next.get(batch.partition) ?? 0n)) tail.next.set(batch.partition, next);
        },
      });
    } catch (cause) {
      await consumer.disconnect().catch(() => undefined);
      throw new UnavailableError(
        `${this.options.who} could not start reading topic "${topic}": ${messageOf(cause)}. Check that the broker is reachable, then try again.`,
        { cause },
      );
    }
    if (this.closing.signal.aborted) {
      await consumer.disconnect().catch(() => undefined);
      throw new ClosedError(this.options.who);
    }
    return tail;
  }
}

function compareOffsets(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
