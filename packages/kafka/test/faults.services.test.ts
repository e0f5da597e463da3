// Fault tests against real brokers: a broker restart mid-stream, a member killed with SIGKILL
// mid-batch, and members joining and leaving under load. Each waits for real recovery.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Delivery } from '@eda/core';
import { kafkaBrokers, kafkaMajors, restartKafka } from '@eda/test-services';
import { afterEach, describe, expect, it } from 'vitest';
import type { KafkaSubscription } from '../src/index.js';
import { ack, jsonMessage, type Namespace, namespace, sleep, until } from './helpers.js';

/** The `n`th record of `key`: per-key order is checked on `n`. */
const event = (type: string, key: string, n: number) =>
  jsonMessage(type, { key, n }, { partitionkey: key });

const dataOf = (d: Delivery) =>
  JSON.parse(new TextDecoder().decode(d.body)) as { key: string; n: number };

/** Checks that every key's records were first handled in order: seeing n means n-1 was seen before. */
function expectOrderPerKey(log: readonly { key: string; n: number }[]): void {
  const highest = new Map<string, number>();
  for (const { key, n } of log) {
    const top = highest.get(key) ?? -1;
    // A redelivery may repeat earlier records (at least once), but never skip ahead.
    expect(n, `key ${key}: ${n} after ${top}`).toBeLessThanOrEqual(top + 1);
    highest.set(key, Math.max(top, n));
  }
}

describe.each(kafkaMajors)('Kafka %i.x faults', (major) => {
  let ns: Namespace;
  afterEach(async () => {
    await ns?.cleanup();
  });

  it('loses nothing when the broker restarts mid-stream, and consumption resumes', async () => {
    ns = namespace(major, 'restart');
    const producerSide = ns.transport({ topics: { partitions: 3 } });
    const consumerSide = ns.transport();
    const type = 'meter.read';
    const received = new Set<string>();
    const log: { key: string; n: number }[] = [];
    await producerSide.ensureTopics([producerSide.topicFor(type)]);
    await consumerSide.subscribe(
      { name: ns.group(), kind: 'event', types: [type], concurrency: 4 },
      async (d) => {
        received.add(d.attributes.id!);
        log.push(dataOf(d));
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
  });

  it('redelivers the uncommitted records of a member killed with SIGKILL to another member', async () => {
    ns = namespace(major, 'sigkill');
    const transport = ns.transport({ topics: { partitions: 1 } });
    const type = 'image.resized';
    const group = ns.group();
    const messages = Array.from({ length: 20 }, (_, n) => event(type, `k${n}`, n));
    await transport.publish(messages);
    const child = spawn(
      process.execPath,
      [
        '--conditions=development',
        '--import',
        'tsx',
        fileURLToPath(new URL('./fixtures/slow-consumer.ts', import.meta.url)),
        kafkaBrokers(major).join(','),
        ns.prefix,
        group,
        type,
      ],
      { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const started: string[] = [];
    const done: string[] = [];
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [what, id] = line.split(' ');
        if (what === 'start') started.push(id!);
        if (what === 'done') done.push(id!);
      }
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await until(
      () => done.length >= 3,
      () => started.length,
      30_000,
      'the child to handle records',
    );
    child.kill('SIGKILL');
    await exited;
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
  });

  it('loses nothing and keeps per-key order while members join and leave under load', async () => {
    ns = namespace(major, 'members');
    const type = 'cart.updated';
    const group = ns.group();
    const seed = ns.transport({ topics: { partitions: 3 } });
    await seed.ensureTopics([seed.topicFor(type)]);
    const received = new Set<string>();
    const log: { key: string; n: number }[] = [];
    const handler = async (d: Delivery) => {
      await sleep(2);
      received.add(d.attributes.id!);
      log.push(dataOf(d));
      return ack;
    };
    const member = () =>
      ns
        .transport()
        .subscribe({ name: group, kind: 'event', types: [type], concurrency: 8 }, handler);
    const members: KafkaSubscription[] = [await member()];
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
    await rounds(10);
    members.push(await member());
    await rounds(10);
    members.push(await member());
    await rounds(10);
    await members.shift()!.close();
    await rounds(10);
    await members.shift()!.close();
    await rounds(10);
    await until(
      () => published.every((id) => received.has(id)),
      () => received.size,
      40_000,
    );
    expect(published.filter((id) => !received.has(id))).toEqual([]);
    expectOrderPerKey(log);
  });
});
