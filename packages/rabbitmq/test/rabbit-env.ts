// Test helpers: transports on a namespace of unique queue and exchange names, reading dead
// letters back from the real broker, and deleting everything the namespace declared.

import type { DeadLetterAdmin } from '@eda/core';
import { fromBinaryHeaders } from '@eda/core/adapter';
import { connectRabbit, endpoints, registerCleanup, uniqueName } from '@eda/test-services';
import type { ChannelModel, Message } from 'amqplib';
import {
  ATTRIBUTE_PREFIX,
  createRabbitMqDeadLetterAdmin,
  createRabbitMqTransport,
  type RabbitMqTransport,
  type RabbitMqTransportOptions,
} from '../src/index.js';

/** A dead letter read back from its queue. */
export interface DeadLetter {
  readonly headers: Record<string, string>;
  readonly attributes: Record<string, string>;
  readonly body: Buffer;
}

function headerText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** Headers as text and the envelope attributes of a message read from a queue. */
export function toDeadLetter(message: Message): DeadLetter {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.properties.headers ?? {}))
    headers[name] = headerText(value);
  const attributes = fromBinaryHeaders(headers, { prefix: ATTRIBUTE_PREFIX });
  if (message.properties.contentType) attributes.datacontenttype = message.properties.contentType;
  return { headers, attributes, body: message.content };
}

/**
 * Moves every message now in `queue` into `into` (removing it from the broker), so repeated
 * reads keep the arrival order and never touch the messages' delivery counts.
 */
export async function drainQueue(
  connection: ChannelModel,
  queue: string,
  into: DeadLetter[],
): Promise<DeadLetter[]> {
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  try {
    for (;;) {
      const message = await channel.get(queue, { noAck: true });
      if (!message) break;
      into.push(toDeadLetter(message));
    }
    return [...into];
  } finally {
    await channel.close().catch(() => undefined);
  }
}

/** Transport options of a namespace, so a child process can join the same one. */
export function namespaceOptions(
  prefix: string,
  named: (name: string) => string = (name) => name,
): RabbitMqTransportOptions {
  return {
    url: endpoints.amqpUrl,
    exchange: `${prefix}.events`,
    queueFor: (type) => named(`${prefix}.${type}`),
    subscriptionQueueFor: (name) => named(`${prefix}.${name}.events`),
    deadLetterQueueFor: (name) => named(`${prefix}.${name}.dead-letter`),
    // Fault tests restart the broker: keep reconnect attempts frequent.
    reconnect: { initialDelayMs: 50, maxDelayMs: 1000 },
  };
}

export interface RabbitNamespace {
  readonly prefix: string;
  /** A transport on this namespace; closed at cleanup. */
  transport(options?: Partial<RabbitMqTransportOptions>): RabbitMqTransport;
  /** A dead-letter admin naming queues as this namespace's transports do; closed at cleanup. */
  deadLetterAdmin(): DeadLetterAdmin;
  /** Every message that reached the subscription's dead-letter queue so far, oldest first. */
  deadLetters(subscription: string): Promise<DeadLetter[]>;
  /** Messages ready in a queue. */
  depth(queue: string): Promise<number>;
  cleanup(): Promise<void>;
}

/**
 * A namespace: every exchange and queue name starts with a unique prefix, and every name the
 * transports computed is deleted at cleanup (after the transports are closed).
 */
export function useRabbitNamespace(label = 'rabbitmq'): RabbitNamespace {
  const prefix = uniqueName(label);
  const queues = new Set<string>();
  const exchanges = new Set<string>([`${prefix}.events`]);
  const transports: RabbitMqTransport[] = [];
  const admins: DeadLetterAdmin[] = [];
  const readDeadLetters = new Map<string, DeadLetter[]>();
  let reader: Promise<ChannelModel> | undefined;
  const named = (name: string) => {
    queues.add(name);
    return name;
  };
  const options = namespaceOptions(prefix, named);
  const connection = () => {
    reader ??= connectRabbit('eda-rabbitmq-tests-reader');
    return reader;
  };
  const cleanable = registerCleanup(async () => {
    await Promise.all([...admins, ...transports].map((t) => t.close()));
    for (const name of transports[0]?.names.delayQueues() ?? []) {
      queues.add(name);
      exchanges.add(name);
    }
    const admin = await connectRabbit('eda-rabbitmq-tests-cleanup');
    try {
      const channel = await admin.createChannel();
      for (const queue of queues) await channel.deleteQueue(queue);
      for (const exchange of exchanges) await channel.deleteExchange(exchange);
    } finally {
      await admin.close();
      const open = reader;
      reader = undefined;
      if (open) await (await open.catch(() => undefined))?.close().catch(() => undefined);
    }
  });
  return {
    prefix,
    transport(overrides = {}) {
      // A connect function replaces the url.
      const { url: _url, ...withoutUrl } = options;
      const transport = createRabbitMqTransport({
        ...(overrides.connect ? withoutUrl : options),
        ...overrides,
      });
      transports.push(transport);
      return transport;
    },
    deadLetterAdmin() {
      // Without `named`: the admin declares nothing, and a name it only looks up (a subscription
      // that never ran) is no queue to delete.
      const admin = createRabbitMqDeadLetterAdmin(namespaceOptions(prefix));
      admins.push(admin);
      return admin;
    },
    async deadLetters(subscription) {
      const read = readDeadLetters.get(subscription) ?? [];
      readDeadLetters.set(subscription, read);
      return drainQueue(await connection(), options.deadLetterQueueFor!(subscription), read);
    },
    async depth(queue) {
      const channel = await (await connection()).createChannel();
      try {
        return (await channel.checkQueue(queue)).messageCount;
      } finally {
        await channel.close().catch(() => undefined);
      }
    },
    cleanup: cleanable.cleanup,
  };
}

/** Resolves when `condition` holds; fails after `idleMs` without `progress()` changing. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  { idleMs = 10_000, progress = () => 0 as unknown } = {},
): Promise<void> {
  let last = progress();
  let since = Date.now();
  for (;;) {
    if (await condition()) return;
    const now = progress();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
    if (Date.now() - since > idleMs) throw new Error(`condition not met within ${idleMs} ms idle`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
