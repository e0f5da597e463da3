// A message type for one kind (event or command) with the right owner, so that most cases run
// the same way over topics and over queues.
import type {
  Bus,
  EmitOptions,
  MessageDefinition,
  MessageKind,
  OutgoingMessage,
  Transport,
} from '@eda/core';
import { defineCommand, defineEvent } from '@eda/core';
import type { TransportCaseContext } from './transport-setup.js';

/** A message type plus who emits it and who handles it. */
export interface Channel<T> {
  readonly kind: MessageKind;
  readonly definition: MessageDefinition<MessageKind, T>;
  /** The service that publishes the event or sends the command. */
  readonly producer: string;
  /** The service that handles it: its name is the consumer group or the owning queue's subscription. */
  readonly consumer: string;
}

/** `event` or `command`, for titles. */
export function nounOf(kind: MessageKind): string {
  return kind === 'event' ? 'event' : 'command';
}

/** `an event` or `a command`, for titles. */
export function aNounOf(kind: MessageKind): string {
  return kind === 'event' ? 'an event' : 'a command';
}

/** The capability a kind needs. */
export function capabilityOf(kind: MessageKind): 'events' | 'commands' {
  return kind === 'event' ? 'events' : 'commands';
}

/**
 * Defines a message type of `kind` for this run. An event is owned by its producer, a command
 * by its consumer, as the bus requires.
 */
export function createChannel<T>(
  context: TransportCaseContext,
  kind: MessageKind,
  label: string,
  roles: { readonly producer?: string; readonly consumer?: string } = {},
): Channel<T> {
  const producer = roles.producer ?? context.name('producer');
  const consumer = roles.consumer ?? context.name('consumer');
  const type = context.name(`contract.${label}`);
  const definition =
    kind === 'event'
      ? defineEvent<T>({ type, owner: producer })
      : defineCommand<T>({ type, owner: consumer });
  return { kind, definition, producer, consumer };
}

/** Publishes (event) or sends (command) `data` through `bus`. */
export function emit<T>(
  bus: Bus,
  definition: MessageDefinition<MessageKind, T>,
  data: T,
  options: EmitOptions<never> = {},
): Promise<void> {
  return definition.kind === 'event'
    ? bus.publish(definition as MessageDefinition<'event', unknown>, data, options)
    : bus.send(definition as MessageDefinition<'command', unknown>, data, options);
}

/** Hands raw messages to the transport, bypassing the bus (for garbage and exact attributes). */
export function emitRaw(
  transport: Transport,
  kind: MessageKind,
  messages: readonly OutgoingMessage[],
): Promise<void> {
  return kind === 'event' ? transport.publish(messages) : transport.send(messages);
}

/** Runs `tasks` with at most `limit` in flight (publishing thousands at once floods a real broker). */
export async function inBatches<T>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  for (let start = 0; start < items.length; start += limit) {
    await Promise.all(items.slice(start, start + limit).map((item, i) => task(item, start + i)));
  }
}
