// The transport contract suite against the machine's real RabbitMQ. Each case gets its own
// namespace of exchange and queue names; killClient cuts a client's sockets and refuses its
// reconnects (a process that died), restartBroker stops and starts the RabbitMQ app,
// deadLetterAdmin reads the namespace's dead-letter queues.

import type { Socket } from 'node:net';
import { type Transport, UnavailableError } from '@eda/core';
import { endpoints, startRabbitApp, stopRabbitApp } from '@eda/test-services';
import { describeTransportContract, type TransportEnvironment } from '@eda/test-suite';
import { type ChannelModel, connect } from 'amqplib';
import { type RabbitMqTransportOptions, rabbitMqCapabilities } from '../src/index.js';
import { useRabbitNamespace } from './rabbit-env.js';

async function createEnvironment(): Promise<TransportEnvironment> {
  const ns = useRabbitNamespace('contract');
  const connections = new Map<Transport, ChannelModel[]>();
  const killed = new Set<Transport>();
  const connectClient = (extra: Partial<RabbitMqTransportOptions> = {}) => {
    let self: Transport | undefined;
    const transport = ns.transport({
      connect: async (purpose) => {
        if (self && killed.has(self))
          throw new UnavailableError('this client was killed: it never connects again');
        const model = await connect(endpoints.amqpUrl, {
          clientProperties: { connection_name: `eda-contract:${purpose}` },
        });
        if (self) connections.set(self, [...(connections.get(self) ?? []), model]);
        return model;
      },
      ...extra,
    });
    self = transport;
    return transport;
  };
  return {
    connect: async () => connectClient(),
    deadLetters: (subscription) => ns.deadLetters(subscription),
    async killClient(transport) {
      killed.add(transport);
      // Cut the sockets as a dying process would: nothing is closed or settled politely.
      for (const model of connections.get(transport) ?? [])
        (model.connection as unknown as { stream: Socket }).stream.destroy(
          // amqplib notices a socket only through 'error' or 'end'.
          new Error('client killed by the contract suite'),
        );
    },
    async restartBroker() {
      await stopRabbitApp();
      await startRabbitApp();
    },
    async connectWithSharedDestination(types) {
      const shared = `${ns.prefix}.shared`;
      const carried = new Set(types);
      return connectClient({
        routingKeyFor: (type) => (carried.has(type) ? shared : type),
        queueFor: (type) => (carried.has(type) ? shared : `${ns.prefix}.${type}`),
      });
    },
    // Closed by the suite after the case, and again (a no-op) at cleanup.
    deadLetterAdmin: async () => ns.deadLetterAdmin(),
    cleanup: () => ns.cleanup(),
  };
}

describeTransportContract('rabbitmq', {
  capabilities: rabbitMqCapabilities,
  hooks: ['killClient', 'restartBroker', 'connectWithSharedDestination', 'deadLetterAdmin'],
  // A stopped and restarted broker app takes a few seconds to accept connections again.
  idleMs: 15_000,
  createEnvironment,
});
