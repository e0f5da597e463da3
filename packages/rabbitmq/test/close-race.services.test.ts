// close() while a consumer or the publisher is setting its channel up again after a lost
// connection: the channel they finish opening must be closed too, or close() waits on it forever.
import { createBus, defineCommand, defineEvent, on } from '@eda/core';
import { cleanupServices, connectRabbit } from '@eda/test-services';
import type { ChannelModel } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectionPurpose } from '../src/options.js';
import { type RabbitNamespace, until, useRabbitNamespace } from './rabbit-env.js';

afterEach(cleanupServices);

const Work = defineCommand<{ n: number }>({ type: 'close-race.work', owner: 'workers' });
const Ping = defineEvent<{ n: number }>({ type: 'close-race.ping', owner: 'pinger' });

/**
 * Real connections; for `purpose`, every channel opened on a connection after the first (that
 * is, after a reconnect) waits for the gate once RabbitMQ has opened it, so a test can close the
 * transport exactly while a channel is being set up again.
 */
function gatedConnections(purpose: ConnectionPurpose) {
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const opened: ChannelModel[] = [];
  let first: ChannelModel | undefined;
  let waiting = false;
  const connect = async (asked: ConnectionPurpose) => {
    const connection = await connectRabbit(`eda-rabbitmq-test-close-race-${asked}`);
    opened.push(connection);
    if (asked !== purpose) return connection;
    if (!first) {
      first = connection;
      return connection;
    }
    for (const method of ['createChannel', 'createConfirmChannel'] as const) {
      const open = connection[method].bind(connection) as () => Promise<unknown>;
      (connection as unknown as Record<string, () => Promise<unknown>>)[method] = async () => {
        const channel = await open();
        waiting = true;
        await gate;
        return channel;
      };
    }
    return connection;
  };
  return {
    connect,
    openGate,
    isWaiting: () => waiting,
    /** Cuts the first connection's socket, as a network failure would. */
    cut: () =>
      (
        first as unknown as { connection: { stream: { destroy(error: Error): void } } }
      ).connection.stream.destroy(new Error('network cut (test)')),
    closeAll: async () => {
      for (const connection of opened) await connection.close().catch(() => undefined);
    },
  };
}

/** 'closed', or 'hung' when `closing` has not settled within `ms`. */
async function settlesWithin(closing: Promise<void>, ms: number): Promise<'closed' | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), ms)));
  const result = await Promise.race([closing.then(() => 'closed' as const), hung]);
  clearTimeout(timer);
  return result;
}

describe('rabbitmq transport closed while a channel is set up again after a lost connection', () => {
  /**
   * Uses the transport for `purpose` with `use`, cuts that connection, and closes the transport
   * while the reconnect is re-opening its channel: close() must end.
   */
  async function closeMidSetUp(
    purpose: ConnectionPurpose,
    use: (transport: ReturnType<RabbitNamespace['transport']>) => Promise<unknown>,
  ) {
    const ns = useRabbitNamespace(`close-race-${purpose}`);
    const connections = gatedConnections(purpose);
    const transport = ns.transport({ connect: connections.connect, onError: () => undefined });
    try {
      await use(transport);
      connections.cut();
      await until(connections.isWaiting); // reconnected, re-opening its channel
      const closing = transport.close();
      connections.openGate();
      // A hang has no progress to watch: allow a loaded machine a whole minute (a close takes
      // well under a second) before calling it one, still inside the test's 120 s cap.
      expect(await settlesWithin(closing, 60_000)).toBe('closed');
    } finally {
      connections.openGate();
      await connections.closeAll();
    }
  }

  it('a consumer: close() ends', async () => {
    await closeMidSetUp('consume', (transport) =>
      createBus({ service: 'workers', transport }).subscribe({
        handlers: [on(Work, () => undefined)],
      }),
    );
  });

  it('the publisher: close() ends', async () => {
    await closeMidSetUp('publish', (transport) =>
      createBus({ service: 'pinger', transport }).publish(Ping, { n: 1 }),
    );
  });
});
