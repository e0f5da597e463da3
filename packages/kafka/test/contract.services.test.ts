// The transport contract suite against real brokers, Kafka 4.x and 3.9: every case runs on its
// own topic prefix with fast group settings, and the fault hooks act on the real broker.

import { kafkaMajors, restartKafka } from '@eda/test-services';
import { describeTransportContract, type TransportEnvironment } from '@eda/test-suite';
import type { KafkaTransport } from '../src/index.js';
import { killKafkaTransport } from '../src/testing-hooks.js';
import { DeadLetterReader } from './dead-letter-reader.js';
import { namespace } from './helpers.js';

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
    hooks: ['killClient', 'restartBroker', 'connectWithSharedDestination', 'deadLetterAdmin'],
    // Joining a group and rebalancing take seconds on a real broker.
    idleMs: 20_000,
    timeoutMs: 120_000,
    async createEnvironment(): Promise<TransportEnvironment> {
      // The helpers' namespace: transports on a unique topic prefix with fast group settings,
      // closed at cleanup before the prefix's topics and groups are deleted.
      const ns = namespace(major, `contract${major}`);
      const { prefix } = ns;
      const admin = ns.kafka.admin();
      await admin.connect();
      const reader = new DeadLetterReader(ns.kafka, admin, prefix);
      const clients: KafkaTransport[] = [];
      const connect = async (topicFor?: (type: string) => string) => {
        const transport = ns.transport(topicFor ? { topicFor } : {});
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
        // On the namespace's prefix: its settled topics and reader groups go with the namespace.
        deadLetterAdmin: async () => ns.deadLetterAdmin(),
        killClient: (transport) => killKafkaTransport(transport),
        restartBroker: () => restartKafka(major),
        async cleanup() {
          await reader.close();
          await admin.disconnect();
          await ns.cleanup();
        },
      };
    },
  });
}
