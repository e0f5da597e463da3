// Creates missing topics before they are used. Subscribing to a missing topic fails under KRaft
// (kafkajs #1618), and a topic auto-created by the broker gets one partition, which would
// silently cap a consumer group at one member.
import { UnavailableError } from '@eda/core';
import type { Admin } from 'kafkajs';

/** How created topics are made. */
export interface TopicSpec {
  readonly partitions: number;
  readonly replicationFactor: number | undefined;
  readonly config: Readonly<Record<string, string>>;
}

/** Remembers which topics exist and creates the others, once per name even under concurrent calls. */
export class TopicRegistry {
  private readonly known = new Set<string>();
  private readonly creating = new Map<string, Promise<void>>();

  constructor(private readonly admin: () => Promise<Admin>) {}

  /**
   * Makes sure every topic exists (creating missing ones with `spec`) and has a leader.
   * @throws UnavailableError when the broker cannot be asked or refuses to create a topic.
   */
  async ensure(topics: readonly string[], spec: TopicSpec): Promise<void> {
    if (topics.every((topic) => this.known.has(topic))) return;
    const wanted = [...new Set(topics)].filter((topic) => !this.known.has(topic));
    const pending = wanted.filter((topic) => !this.creating.has(topic));
    if (pending.length) {
      const work = this.create(pending, spec);
      for (const topic of pending) this.creating.set(topic, work);
      work
        .finally(() => {
          for (const topic of pending) this.creating.delete(topic);
        })
        .catch(() => undefined);
    }
    await Promise.all(wanted.map((topic) => this.creating.get(topic) ?? Promise.resolve()));
  }

  private async create(topics: readonly string[], spec: TopicSpec): Promise<void> {
    // Right after a topic is created (or a broker restarted) metadata requests can answer
    // "unknown topic" for a while; kafkajs's own leader wait gives up on that, so the whole
    // step is retried until the topics exist and every partition has a leader.
    let lastError: unknown;
    for (
      let attempt = 0, backoffMs = 100;
      attempt < 12;
      attempt++, backoffMs = Math.min(2000, backoffMs * 2)
    ) {
      try {
        const admin = await this.admin();
        const existing = new Set(await admin.listTopics());
        const missing = topics.filter((topic) => !existing.has(topic));
        if (missing.length) {
          await admin.createTopics({
            waitForLeaders: false,
            topics: missing.map((topic) => ({
              topic,
              numPartitions: spec.partitions,
              ...(spec.replicationFactor === undefined
                ? {}
                : { replicationFactor: spec.replicationFactor }),
              configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })),
            })),
          });
        }
        const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [...topics] });
        const ready = metadata.every(
          (t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0),
        );
        if (ready && metadata.length === topics.length) {
          for (const topic of topics) this.known.add(topic);
          return;
        }
        lastError = new Error('partitions without a leader yet');
      } catch (cause) {
        lastError = cause;
        if ((cause as { retriable?: boolean }).retriable === false) break;
      }
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
    }
    throw new UnavailableError(
      `Kafka transport could not create topics ${topics.join(', ')}: ${(lastError as Error).message}. Create them yourself (ensureTopics) or check the broker.`,
      { cause: lastError },
    );
  }
}
