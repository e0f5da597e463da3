// One transport made of two: events on a log (Kafka), commands on queues (RabbitMQ). Each
// message kind goes where its semantics hold, behind the single Transport the bus expects.
import type { SubscribeOptions, Transport } from './contracts/transport.js';
import { ConfigurationError } from './errors.js';

/** Options of `createCompositeTransport`. */
export interface CompositeTransportOptions {
  /** Carries events: `publish` and event subscriptions. Must have the `events` capability. */
  readonly events: Transport;
  /** Carries commands: `send` and command subscriptions. Must have the `commands` capability. */
  readonly commands: Transport;
}

/**
 * Routes events and commands to two transports. Capabilities that describe events (order per
 * key, consumer groups, replay) come from the events transport; the others hold only when both
 * transports have them. Closing it closes both.
 * @throws ConfigurationError when a transport lacks the kind it is given.
 */
export function createCompositeTransport({
  events,
  commands,
}: CompositeTransportOptions): Transport {
  if (!events?.capabilities.events) {
    throw new ConfigurationError(
      `createCompositeTransport: the events transport (${events?.name}) has no events capability.`,
    );
  }
  if (!commands?.capabilities.commands) {
    throw new ConfigurationError(
      `createCompositeTransport: the commands transport (${commands?.name}) cannot give commands a single owner; use a queue transport such as @eda/rabbitmq.`,
    );
  }
  const both = (flag: 'competingConsumers' | 'delayedRetry' | 'deadLetter' | 'persistent') =>
    events.capabilities[flag] && commands.capabilities[flag];
  return {
    name: `${events.name}+${commands.name}`,
    capabilities: {
      events: true,
      commands: true,
      orderedPerKey: events.capabilities.orderedPerKey,
      consumerGroups: events.capabilities.consumerGroups,
      replay: events.capabilities.replay,
      competingConsumers: both('competingConsumers'),
      delayedRetry: both('delayedRetry'),
      deadLetter: both('deadLetter'),
      persistent: both('persistent'),
    },
    // Spans name the system that carries each kind, not the pair.
    destinationOf: (kind, type) => {
      const carrier = kind === 'event' ? events : commands;
      return carrier.destinationOf?.(kind, type) ?? { system: carrier.name, name: type };
    },
    publish: (messages) => events.publish(messages),
    send: (messages) => commands.send(messages),
    subscribe: (options: SubscribeOptions, handler) =>
      (options.kind === 'event' ? events : commands).subscribe(options, handler),
    async close() {
      await Promise.all([events.close(), commands.close()]);
    },
  };
}
