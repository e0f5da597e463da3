// How many partitions each topic has, read from the broker and remembered for a while. The
// writer picks every record's partition itself (see record-writer.ts) and needs the count for it.
import { UnavailableError } from '@eda/core';
import type { Admin } from 'kafkajs';

interface Known {
  readonly count: number;
  readonly readAt: number;
}

export class PartitionCounts {
  private readonly known = new Map<string, Known>();
  private readonly reading = new Map<string, Promise<void>>();

  /**
   * @param admin the transport's admin client
   * @param maxAgeMs how long a count is used before it is read again (partitions can be added)
   */
  constructor(
    private readonly admin: () => Promise<Admin>,
    private readonly maxAgeMs = 60_000,
  ) {}

  /**
   * The partition count of each topic.
   * @throws UnavailableError when a topic's count was never read and cannot be read now.
   */
  async of(topics: readonly string[]): Promise<ReadonlyMap<string, number>> {
    const now = Date.now();
    const stale = topics.filter((topic) => {
      const known = this.known.get(topic);
      return !known || now - known.readAt > this.maxAgeMs;
    });
    if (stale.length) await this.read(stale);
    const counts = new Map<string, number>();
    for (const topic of topics) {
      const known = this.known.get(topic);
      if (!known)
        throw new UnavailableError(
          `Kafka transport could not read how many partitions topic "${topic}" has: does it exist? Create it (ensureTopics, or topics.autoCreate) and check the broker.`,
        );
      counts.set(topic, known.count);
    }
    return counts;
  }

  /** One metadata request for the topics no other call is reading already. */
  private async read(topics: readonly string[]): Promise<void> {
    const fresh = [...new Set(topics)].filter((topic) => !this.reading.has(topic));
    if (fresh.length) {
      const work = this.fetch(fresh);
      for (const topic of fresh) this.reading.set(topic, work);
      work
        .finally(() => {
          for (const topic of fresh) this.reading.delete(topic);
        })
        .catch(() => undefined);
    }
    await Promise.all(topics.map((topic) => this.reading.get(topic)));
  }

  private async fetch(topics: readonly string[]): Promise<void> {
    try {
      const admin = await this.admin();
      const readAt = Date.now();
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [...topics] });
      for (const { name, partitions } of metadata)
        if (partitions.length) this.known.set(name, { count: partitions.length, readAt });
    } catch (cause) {
      // A count read before stays in use: a broker that cannot answer metadata now must not
      // stop writes the producer could still make. Without one, the caller gets the error.
      const never = topics.filter((topic) => !this.known.has(topic));
      if (never.length)
        throw new UnavailableError(
          `Kafka transport could not read how many partitions ${never.join(', ')} has: ${(cause as Error).message}. Check that the broker is reachable and the topic exists.`,
          { cause },
        );
    }
  }
}
