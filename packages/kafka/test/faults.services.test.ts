// Fault tests against real brokers: a broker restart mid-stream, a member killed with SIGKILL
// mid-batch, and members joining, leaving and crashing under load. Each waits for real recovery,
// on progress (an idle timeout that restarts whenever something happens), never on a fixed total,
// so a loaded machine makes them slower, not red.
import type { Delivery } from '@eda/core/adapter';
import { kafkaBrokers, kafkaMajors, restartKafka } from '@eda/test-services';
import { afterEach, describe, expect, it } from 'vitest';
import type { KafkaSubscription } from '../src/index.js';
import { killChildren, startChild } from './child-member.js';
import { ack, jsonMessage, type Namespace, namespace, sleep, until } from './helpers.js';
import { type Handled, orderViolations } from './order-check.js';

/**
 * The test's own limit: far above what any case needs, since the idle timeouts of its waits are
 * what fails a stuck case; a busy machine only makes the steps slower.
 */
const CASE_TIMEOUT_MS = 600_000;

/** How long a child process may show no sign of life while it loads and joins its group. */
const CHILD_START_IDLE_MS = 90_000;

/** The `n`th record of `key`: per-key order is checked on `n`. */
const event = (type: string, key: string, n: number) =>
  jsonMessage(type, { key, n }, { partitionkey: key });

const dataOf = (d: Delivery) =>
  JSON.parse(new TextDecoder().decode(d.body)) as { key: string; n: number };

function expectOrderPerKey(log: readonly Handled[]): void {
  expect(orderViolations(log)).toEqual([]);
}

describe.each(kafkaMajors)('Kafka %i.x faults', (major) => {
  let ns: Namespace;
  afterEach(async () => {
    await killChildren();
    await ns?.cleanup();
  });

  it(
    'loses nothing when the broker restarts mid-stream, and consumption resumes',
    async () => {
      ns = namespace(major, 'restart');
      const producerSide = ns.transport({ topics: { partitions: 3 } });
      const consumerSide = ns.transport();
      const type = 'meter.read';
      const received = new Set<string>();
      const log: Handled[] = [];
      await producerSide.ensureTopics([producerSide.topicFor(type)]);
      await consumerSide.subscribe(
        { name: ns.group(), kind: 'event', types: [type], concurrency: 4 },
        async (d) => {
          received.add(d.attributes.id!);
          log.push({ ...dataOf(d), member: 'only' });
          return ack;
        },
      );
      const published: string[] = [];
      let stop = false;
      const producing = (async () => {
        for (let n = 0; !stop; n++) {
          const batch = Array.from({ length: 5 }, (_, i) => event(type, `k${i}`, n));
          // At-least-once publishing: a rejected publish is sent again until the broker acks it.
          for (;;) {
            try {
              await producerSide.publish(batch);
              break;
            } catch {
              await sleep(200);
            }
          }
          published.push(...batch.map((m) => m.attributes.id));
          await sleep(20);
        }
      })();
      await until(
        () => received.size >= 50,
        () => received.size,
      );
      await restartKafka(major);
      const afterRestart = published.length;
      await until(
        () => published.length >= afterRestart + 50,
        () => published.length,
        60_000,
        'publishing to resume',
      );
      stop = true;
      await producing;
      await until(
        () => published.every((id) => received.has(id)),
        () => received.size,
        60_000,
        'every published record to be consumed',
      );
      expect(published.filter((id) => !received.has(id))).toEqual([]);
      expectOrderPerKey(log);
    },
    CASE_TIMEOUT_MS,
  );

  it(
    'redelivers the uncommitted records of a member killed with SIGKILL to another member',
    async () => {
      ns = namespace(major, 'sigkill');
      const transport = ns.transport({ topics: { partitions: 1 } });
      const type = 'image.resized';
      const group = ns.group();
      const messages = Array.from({ length: 20 }, (_, n) => event(type, `k${n}`, n));
      await transport.publish(messages);
      const started: string[] = [];
      const done: string[] = [];
      const child = startChild(
        'slow-consumer',
        [kafkaBrokers(major).join(','), ns.prefix, group, type],
        (line) => {
          const [what, id] = line.split(' ');
          if (what === 'start') started.push(id!);
          if (what === 'done') done.push(id!);
        },
      );
      // Every line the child prints (loading, joined, each record) counts as progress.
      await until(
        () => done.length >= 3,
        () => child.lines.length,
        CHILD_START_IDLE_MS,
        'the child to handle records',
      );
      await child.kill();
      const inFlight = started.filter((id) => !done.includes(id));

      const received = new Set<string>();
      await transport.subscribe({ name: group, kind: 'event', types: [type] }, async (d) => {
        received.add(d.attributes.id!);
        return ack;
      });
      const all = messages.map((m) => m.attributes.id);
      await until(
        () => all.every((id) => received.has(id) || done.includes(id)),
        () => received.size,
        40_000,
      );
      // Whatever the killed member had not finished comes back; nothing is lost.
      expect(inFlight.length).toBeGreaterThan(0);
      for (const id of inFlight) expect(received.has(id)).toBe(true);
      expect(all.filter((id) => !received.has(id) && !done.includes(id))).toEqual([]);
    },
    CASE_TIMEOUT_MS,
  );

  it(
    'loses nothing and keeps strict per-key order while members join, leave and crash under load',
    async () => {
      ns = namespace(major, 'members');
      const type = 'cart.updated';
      const group = ns.group();
      const seed = ns.transport({ topics: { partitions: 3 } });
      await seed.ensureTopics([seed.topicFor(type)]);
      const received = new Set<string>();
      const log: Handled[] = [];
      // Handlers take 2 to 20 ms, so records are in flight whenever a handover happens.
      const handlerFor = (member: string) => async (d: Delivery) => {
        await sleep(2 + Math.random() * 18);
        received.add(d.attributes.id!);
        log.push({ ...dataOf(d), member });
        return ack;
      };
      let members = 0;
      const member = () => {
        const name = `in-process-${++members}`;
        return ns
          .transport()
          .subscribe(
            { name: group, kind: 'event', types: [type], concurrency: 8 },
            handlerFor(name),
          );
      };
      // A member in its own process, killed with SIGKILL: no close, no commit, its partitions
      // move only when its session times out.
      const crashable = (label: string) => {
        const child = startChild(
          'group-member',
          [kafkaBrokers(major).join(','), ns.prefix, group, type, '2', '20', '8'],
          (line) => {
            const [what, id, key, n] = line.split(' ');
            if (what !== 'done') return;
            received.add(id!);
            log.push({ key: key!, n: Number(n), member: label });
          },
        );
        return child;
      };
      const published: string[] = [];
      const publishRound = async (n: number) => {
        const batch = Array.from({ length: 30 }, (_, i) => event(type, `k${i}`, n));
        await seed.publish(batch);
        published.push(...batch.map((m) => m.attributes.id));
      };
      let n = 0;
      const rounds = async (count: number) => {
        for (let i = 0; i < count; i++) {
          await publishRound(n++);
          await sleep(30);
        }
      };
      const inProcess: KafkaSubscription[] = [await member()];
      await rounds(10);
      const first = crashable('child-1');
      await until(
        () => first.lines.includes('ready'),
        () => first.lines.length + received.size,
        CHILD_START_IDLE_MS,
        'the first child to join',
      );
      await rounds(10);
      inProcess.push(await member());
      await rounds(10);
      await first.kill();
      await rounds(10);
      const second = crashable('child-2');
      await until(
        () => second.lines.includes('ready'),
        () => second.lines.length + received.size,
        CHILD_START_IDLE_MS,
        'the second child to join',
      );
      await rounds(10);
      await inProcess.shift()!.close();
      await rounds(10);
      await second.kill();
      await rounds(10);
      await until(
        () => published.every((id) => received.has(id)),
        () => received.size,
        60_000,
        'every published record to be handled',
      );
      expect(published.filter((id) => !received.has(id))).toEqual([]);
      // Both crashes and the graceful leave moved partitions while records were in flight.
      expect(new Set(log.map((e) => e.member)).size).toBeGreaterThanOrEqual(4);
      expectOrderPerKey(log);
    },
    CASE_TIMEOUT_MS,
  );
});
