// The transport contract suite against real brokers, Kafka 4.x and 3.9: every case runs on its
// own topic prefix with fast group settings, and the fault hooks act on the real broker.

import { kafkaBrokers, kafkaMajors, restartKafka, uniqueName } from '@eda/test-services';
import { describeTransportContract, type TransportEnvironment } from '@eda/test-suite';
import { createKafkaTransport, type KafkaTransport } from '../src/index.js';
import { killKafkaTransport } from '../src/testing-hooks.js';
import { DeadLetterReader } from './dead-letter-reader.js';
import { fastConsumer, rawKafka } from './helpers.js';

const capabilities = {
  events: true,
  commands: false,
  orderedPerKey: true,
  consumerGroups: true,
  competingConsumers: true,
  replay: true,
  delayedRetry: true,
  deadLetter: true,
  persistent: true,
} as const;

for (const major of kafkaMajors) {
  describeTransportContract(`kafka ${major}.x`, {
    capabilities,
    hooks: ['killClient', 'restartBroker', 'connectWithSharedDestination'],
    // Joining a group and rebalancing take seconds on a real broker.
    idleMs: 20_000,
    timeoutMs: 120_000,
    async createEnvironment(): Promise<TransportEnvironment> {
      const prefix = `${uniqueName(`contract${major}`)}.`;
      const kafka = rawKafka(major);
      const admin = kafka.admin();
      await admin.connect();
      const reader = new DeadLetterReader(kafka, admin, prefix);
      const clients: KafkaTransport[] = [];
      const connect = async (topicFor?: (type: string) => string) => {
        const transport = createKafkaTransport({
          brokers: kafkaBrokers(major),
          logLevel: 'nothing',
          onError: () => undefined,
          topicPrefix: prefix,
          ...(topicFor ? { topicFor } : {}),
          consumer: fastConsumer,
        });
        clients.push(transport);
        return transport;
      };
      return {
        connect: () => connect(),
        async connectWithSharedDestination(types) {
          return connect((type) => `${prefix}${types.includes(type) ? 'shared' : type}`);
        },
        async deadLetters(subscription) {
          return reader.read(
            clients[0]?.deadLetterTopicFor(subscription) ?? `${prefix}${subscription}.dlq`,
          );
        },
        killClient: (transport) => killKafkaTransport(transport),
        restartBroker: () => restartKafka(major),
        async cleanup() {
          await Promise.allSettled(clients.map((c) => c.close()));
          await reader.close();
          try {
            const { groups } = await admin.listGroups();
            const ours = groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
            if (ours.length) await admin.deleteGroups(ours).catch(() => undefined);
            const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
            if (topics.length) await admin.deleteTopics({ topics, timeout: 10_000 });
          } finally {
            await admin.disconnect();
          }
        },
      };
    },
  });
}
