// What processBatch relies on when it drops a commit queued before a rejoin (see commit() in
// batch-processor.ts): after any rejoin kafkajs fetches a partition again from the group's
// committed offset, also when the member keeps that partition, so records that were handled
// (and resolved) but whose commit was dropped are delivered again and committed in the new
// generation. If kafkajs kept the resolved position instead, a dropped tail commit would leave
// the group's lag above 0 for as long as no new record arrives.
import { kafkaBrokers } from '@eda/test-services';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, expect, it } from 'vitest';
import { namespace } from './helpers.js';

const ns = namespace(4, 'rejoin-refetch');
afterEach(() => ns.cleanup());

function client(clientId: string): Kafka {
  // Member ids start with the client id and kafkajs's assigner gives the only partition to the
  // first member id in order: "a-" keeps it while "z-" joins and leaves.
  return new Kafka({ clientId, brokers: kafkaBrokers(4), logLevel: logLevel.NOTHING });
}

it('delivers handled but uncommitted records again after a rejoin in which the member keeps its partition', async () => {
  const topic = `${ns.prefix}tail`;
  const group = ns.group('tail');
  const admin = ns.kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  const producer = ns.kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
  await producer.disconnect();

  const consumerSettings = {
    groupId: group,
    sessionTimeout: 10_000,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 500,
  };
  const log: string[] = [];
  const keeper = client('a-keeper').consumer(consumerSettings);
  keeper.on(keeper.events.GROUP_JOIN, (event) =>
    log.push(`join ${JSON.stringify(event.payload.memberAssignment[topic] ?? [])}`),
  );
  const joiner = client('z-joiner').consumer(consumerSettings);
  try {
    await keeper.connect();
    await keeper.subscribe({ topic, fromBeginning: true });
    await keeper.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Handled and resolved, never committed: the state a dropped commit leaves behind.
      eachBatch: async ({ batch, resolveOffset }) => {
        for (const message of batch.messages) {
          log.push(message.offset);
          resolveOffset(message.offset);
        }
      },
    });
    await expect.poll(() => log.length, { timeout: 20_000 }).toBe(4);
    // A second member joins: the group rebalances and the keeper rejoins, keeping partition 0.
    await joiner.connect();
    await joiner.subscribe({ topic, fromBeginning: true });
    await joiner.run({ eachMessage: async () => undefined });
    await expect.poll(() => log.length, { timeout: 30_000 }).toBe(8);
    expect(log).toEqual(['join [0]', '0', '1', '2', 'join [0]', '0', '1', '2']);
  } finally {
    await joiner.disconnect();
    await keeper.disconnect();
    await admin.disconnect();
  }
}, 60_000);
