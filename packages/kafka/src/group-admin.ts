// Replay and lag for a consumer group: move a stopped group's committed offsets, and compare
// committed offsets with the end of each partition.
import { ConfigurationError } from '@eda/core';
import type { Admin } from 'kafkajs';

/** Where `seek` moves a group: the start or end of the log, given offsets, or the first record at or after a time. */
export type SeekTarget =
  | 'earliest'
  | 'latest'
  | { readonly partitions: readonly { readonly partition: number; readonly offset: string }[] }
  | { readonly timestamp: number | Date };

/** Lag of one partition for one group. */
export interface PartitionLag {
  readonly partition: number;
  /** The next offset the group will read, or undefined when it has committed nothing there. */
  readonly committed: string | undefined;
  /** The offset the next record written to the partition will get. */
  readonly end: string;
  /** Records between the committed offset (or the start of the log when none) and the end. */
  readonly lag: number;
}

async function assertStopped(admin: Admin, group: string): Promise<void> {
  const { groups } = await admin.describeGroups([group]);
  const state = groups[0]?.state;
  if (state && state !== 'Empty' && state !== 'Dead') {
    throw new ConfigurationError(
      `Kafka transport cannot seek group "${group}": it is ${state}. Close every subscription of the group first, then seek, then subscribe again.`,
    );
  }
}

/**
 * Moves a stopped group's committed offsets on one topic.
 * @throws ConfigurationError when the group still has members.
 */
export async function seekGroup(
  admin: Admin,
  group: string,
  topic: string,
  target: SeekTarget,
): Promise<void> {
  await assertStopped(admin, group);
  if (target === 'earliest' || target === 'latest') {
    await admin.resetOffsets({ groupId: group, topic, earliest: target === 'earliest' });
    return;
  }
  if ('timestamp' in target) {
    const ms = target.timestamp instanceof Date ? target.timestamp.getTime() : target.timestamp;
    if (!Number.isFinite(ms))
      throw new ConfigurationError(`Kafka transport seek: timestamp ${String(ms)} is not a time.`);
    const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, ms);
    await admin.setOffsets({ groupId: group, topic, partitions: offsets });
    return;
  }
  if (!target.partitions.length)
    throw new ConfigurationError('Kafka transport seek: give at least one partition offset.');
  for (const { partition, offset } of target.partitions) {
    if (!/^\d+$/.test(offset) || !Number.isSafeInteger(partition) || partition < 0) {
      throw new ConfigurationError(
        `Kafka transport seek: partition ${partition} offset "${offset}" is invalid: use a partition number and a decimal offset.`,
      );
    }
  }
  await admin.setOffsets({ groupId: group, topic, partitions: [...target.partitions] });
}

/** Tries of a lag read that fails with an error kafkajs marks retriable, and the first wait. */
const LAG_TRIES = 8;
const LAG_FIRST_WAIT_MS = 250;

/**
 * Per-partition lag of a group on a topic. Right after a broker restart or a leader move the
 * group's coordinator may answer "not the coordinator" or "loading" for a while, which kafkajs's
 * admin passes on: those are read again with backoff (about 25 s in all) instead of failing a
 * monitor's look.
 */
export async function groupLag(
  admin: Admin,
  group: string,
  topic: string,
): Promise<PartitionLag[]> {
  for (let attempt = 1, waitMs = LAG_FIRST_WAIT_MS; ; attempt++, waitMs *= 2) {
    try {
      return await readLag(admin, group, topic);
    } catch (error) {
      if ((error as { retriable?: boolean }).retriable !== true || attempt >= LAG_TRIES)
        throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(waitMs, 8_000)));
    }
  }
}

async function readLag(admin: Admin, group: string, topic: string): Promise<PartitionLag[]> {
  const [ends, fetched] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId: group, topics: [topic] }),
  ]);
  const committed = new Map(
    (fetched.find((t) => t.topic === topic)?.partitions ?? []).map((p) => [p.partition, p.offset]),
  );
  return ends
    .map(({ partition, high, low }) => {
      const raw = committed.get(partition);
      const has = raw !== undefined && Number(raw) >= 0;
      const from = BigInt(has ? raw : low);
      const lag = BigInt(high) - from;
      return {
        partition,
        committed: has ? raw : undefined,
        end: high,
        lag: Number(lag > 0n ? lag : 0n),
      };
    })
    .sort((a, b) => a.partition - b.partition);
}
