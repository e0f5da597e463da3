// The in-memory partitioned log: topics split into partitions by key, consumer groups with
// committed offsets, partitions assigned to group members, retries that block their partition
// (so per-key order holds), and redelivery of anything not committed.

import { createSignal, sleep } from '../abortable-wait.js';
import type { DeliveryHandler, DeliveryOrigin, Disposition } from '../contracts/transport.js';

/** A record as the broker keeps it. */
export interface StoredRecord {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  readonly key: string | undefined;
  readonly timestamp: number;
}

/** Where a settled message goes when it is dead-lettered. */
export type DeadLetterSink = (
  record: StoredRecord,
  disposition: Extract<Disposition, { type: 'dead-letter' }>,
  origin: DeliveryOrigin,
) => void;

/** What runs a delivery for a member: its handler plus the broker's delivery shape. */
export interface LogMember {
  readonly id: number;
  deliver(
    record: StoredRecord,
    attempt: number,
    origin: DeliveryOrigin,
  ): ReturnType<DeliveryHandler>;
}

function hashKey(key: string): number {
  // FNV-1a: stable across runs, so a key always lands on the same partition.
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** One topic: append-only partitions. */
export class LogTopic {
  readonly partitions: StoredRecord[][];
  private roundRobin = 0;
  private appended = createSignal();

  constructor(
    readonly name: string,
    partitionCount: number,
  ) {
    this.partitions = Array.from({ length: partitionCount }, () => []);
  }

  append(record: StoredRecord): { partition: number; offset: number } {
    const partition =
      record.key === undefined
        ? this.roundRobin++ % this.partitions.length
        : hashKey(record.key) % this.partitions.length;
    const log = this.partitions[partition]!;
    log.push(record);
    const wake = this.appended;
    this.appended = createSignal();
    wake.fire();
    return { partition, offset: log.length - 1 };
  }

  /** Resolves on the next append. */
  nextAppend(): Promise<void> {
    return this.appended.promise;
  }
}

/** The consumption of one partition by one member, until revoked or killed. */
class PartitionWorker {
  private readonly stopping = new AbortController();
  private killed = false;
  private rejectKilled!: (reason: Error) => void;
  /** Rejects when the worker is killed, to abandon an in-flight handler. */
  private readonly killedSignal = new Promise<never>((_, reject) => {
    this.rejectKilled = reject;
  });
  readonly done: Promise<void>;

  constructor(
    private readonly group: ConsumerGroup,
    private readonly partition: number,
    readonly member: LogMember,
    previous: Promise<void>,
  ) {
    this.killedSignal.catch(() => undefined);
    this.done = previous.then(() => this.run());
  }

  /** Finish the in-flight message (settling it), then stop. */
  stop(): void {
    this.stopping.abort();
  }

  /** Stop at once; whatever is in flight is never settled and will be redelivered. */
  kill(): void {
    this.killed = true;
    this.rejectKilled(new Error('killed'));
    this.stopping.abort();
  }

  private async run(): Promise<void> {
    const { group, partition } = this;
    const log = group.topic.partitions[partition]!;
    while (!this.stopping.signal.aborted) {
      const offset = group.committed[partition]!;
      const record = log[offset];
      if (!record) {
        // Wait for an append or a stop; the idle timer is cancelled either way so waits do not
        // pile up timers and abort listeners on a busy partition.
        const idle = new AbortController();
        await Promise.race([
          group.topic.nextAppend(),
          sleep(1000, AbortSignal.any([this.stopping.signal, idle.signal])),
        ]);
        idle.abort();
        continue;
      }
      const attemptKey = `${partition}:${offset}`;
      const attempt = (group.attempts.get(attemptKey) ?? 0) + 1;
      group.attempts.set(attemptKey, attempt);
      const origin: DeliveryOrigin = {
        destination: group.topic.name,
        partition,
        offset: String(offset),
      };
      let disposition: Disposition;
      const generation = group.generation;
      try {
        // Killed workers leave their handler running but never settle its result.
        disposition = await Promise.race([
          this.member.deliver(record, attempt, origin),
          this.killedSignal,
        ]);
      } catch {
        if (this.killed || generation !== group.generation) return;
        disposition = { type: 'retry', delayMs: 100, reason: 'handler threw' };
      }
      if (this.killed || generation !== group.generation) return;
      if (disposition.type === 'ack' || disposition.type === 'dead-letter') {
        if (disposition.type === 'dead-letter') group.deadLetter(record, disposition, origin);
        group.committed[partition] = offset + 1;
        group.attempts.delete(attemptKey);
      } else {
        // A deferred retry waited for another consumer's claim: its redelivery keeps the attempt.
        if (disposition.deferred) group.attempts.set(attemptKey, attempt - 1);
        await sleep(disposition.delayMs, this.stopping.signal);
      }
    }
  }
}

/** A consumer group on one topic: committed offsets and the members sharing its partitions. */
export class ConsumerGroup {
  readonly committed: number[];
  readonly attempts = new Map<string, number>();
  /** Bumped by a simulated broker restart: in-flight results of older generations are ignored. */
  generation = 0;
  private readonly members: LogMember[] = [];
  private readonly workers = new Map<number, PartitionWorker>();

  constructor(
    readonly name: string,
    readonly topic: LogTopic,
    startAt: 'earliest' | 'latest',
    readonly deadLetter: DeadLetterSink,
  ) {
    this.committed = topic.partitions.map((p) => (startAt === 'earliest' ? 0 : p.length));
  }

  join(member: LogMember): void {
    this.members.push(member);
    this.rebalance();
  }

  /** Removes a member. Graceful: its partitions move after their in-flight message settles. */
  async leave(member: LogMember, how: 'graceful' | 'kill'): Promise<void> {
    const index = this.members.indexOf(member);
    if (index < 0) return;
    this.members.splice(index, 1);
    const stopping: Promise<void>[] = [];
    for (const worker of this.workers.values()) {
      if (worker.member !== member) continue;
      if (how === 'kill') worker.kill();
      else {
        worker.stop();
        stopping.push(worker.done);
      }
    }
    this.rebalance();
    await Promise.all(stopping);
  }

  /** Simulates a broker restart: every in-flight delivery is abandoned and redelivered. */
  restart(): void {
    this.generation += 1;
    for (const [partition, worker] of this.workers) {
      worker.kill();
      this.workers.set(
        partition,
        new PartitionWorker(this, partition, worker.member, Promise.resolve()),
      );
    }
  }

  private rebalance(): void {
    this.topic.partitions.forEach((_, partition) => {
      const owner = this.members.length ? this.members[partition % this.members.length] : undefined;
      const current = this.workers.get(partition);
      if (current?.member === owner) return;
      current?.stop();
      const previous = current?.done ?? Promise.resolve();
      if (owner) this.workers.set(partition, new PartitionWorker(this, partition, owner, previous));
      else this.workers.delete(partition);
    });
  }
}
