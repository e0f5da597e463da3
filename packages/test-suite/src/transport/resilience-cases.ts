// Transport cases about clients and brokers going away: close and reopen, a client killed
// mid-message, a broker restarted mid-stream. Nothing may be lost.
import { type MessageKind, on, type Transport } from '@eda/core';
import { abortableSleep as pause } from '@eda/core/adapter';
import { expect } from 'vitest';
import { createDeferred } from '../deferred.js';
import { createInbox } from '../inbox.js';
import { waitFor } from '../wait-for.js';
import { capabilityOf, createChannel, emit, inBatches, nounOf } from './channel.js';
import {
  countBy,
  describeMissing,
  expectEachOnce,
  flushWithSentinels,
  type Numbered,
  range,
  type Seen,
} from './delivery-cases.js';
import type { TransportCase, TransportCaseContext } from './transport-setup.js';

/** Emits, retrying a rejected emit a few times (set-up: a broker that just restarted may refuse once). */
async function emitWithRetry(send: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (attempt >= 5) throw error;
      await pause(200 * attempt);
    }
  }
}

/** Closing a consumer and opening a new one with the same subscription loses and repeats nothing. */
export function closeAndReopenCase(kind: MessageKind): TransportCase {
  return {
    name: `close and reopen: ${nounOf(kind)}s emitted before, while and after a consumer is closed all arrive, each handled once`,
    requires: [capabilityOf(kind)],
    async run(context) {
      const producerClient = await context.connect();
      const channel = createChannel<Numbered>(context, kind, 'reopen');
      const producer = context.bus({ service: channel.producer, transport: producerClient });
      const seen = createInbox<Seen>();
      const subscribe = async (member: number) => {
        const client = await context.connect();
        const consumer = context.bus({ service: channel.consumer, transport: client });
        const subscription = await consumer.subscribe({
          handlers: [
            on(channel.definition, (m, c) =>
              seen.push({ n: m.data.n, key: m.partitionkey, attempt: c.attempt, member }),
            ),
          ],
        });
        return { client, subscription };
      };
      const sendTo = (n: number, key: string) =>
        emit(producer, channel.definition, { n }, { partitionKey: key });
      const send = (n: number) => sendTo(n, `key-${n % 4}`);
      const first = await subscribe(1);
      await inBatches(range(0, 5), 5, send);
      await seen.until((items) => countBy(items).size >= 5, {
        idleMs: context.idleMs,
        description: () => `the first ${describeMissing(seen.items, range(0, 5))}`,
      });
      await first.subscription.close();
      await context.close(first.client);
      await inBatches(range(5, 5), 5, send); // nobody is consuming now
      await subscribe(2);
      await inBatches(range(10, 5), 5, send);
      const expected = range(0, 15);
      await seen.until((items) => countBy(items).size >= expected.length, {
        idleMs: context.idleMs,
        description: () => `all ${describeMissing(seen.items, expected)}`,
      });
      // Sentinels: a copy of an early message handed to the new consumer (a settlement the
      // close lost) would arrive before them.
      await flushWithSentinels(context, sendTo, seen, ['key-0', 'key-1', 'key-2', 'key-3']);
      expectEachOnce(
        seen.items.filter((s) => s.n >= 0),
        expected,
        'across the close and reopen',
      );
      const lateOnes = seen.items.filter((s) => s.n >= 5);
      expect(
        lateOnes.every((s) => s.member === 2),
        'messages after the close went to the new consumer',
      ).toBe(true);
    },
  };
}

/** A client killed while handling a message: the message is redelivered to the other client. */
export function killClientCase(kind: MessageKind): TransportCase {
  return {
    name: `kill a client mid-message: the ${nounOf(kind)} it was handling is redelivered to another client`,
    requires: [capabilityOf(kind), 'competingConsumers', 'killClient'],
    async run(context) {
      const producerClient = await context.connect();
      const channel = createChannel<Numbered>(context, kind, 'kill');
      const producer = context.bus({ service: channel.producer, transport: producerClient });
      const seen = createInbox<Seen>();
      const started = createDeferred();
      const release = createDeferred();
      let holder: number | undefined;
      const clients: Transport[] = [];
      for (const member of [0, 1]) {
        const client = await context.connect();
        clients.push(client);
        const consumer = context.bus({ service: channel.consumer, transport: client });
        await consumer.subscribe({
          handlers: [
            on(channel.definition, async (m, c) => {
              if (m.data.n === 0 && holder === undefined) {
                holder = member;
                started.resolve();
                await release.promise; // stuck mid-message until the client dies
                return;
              }
              seen.push({ n: m.data.n, key: m.partitionkey, attempt: c.attempt, member });
            }),
          ],
        });
      }
      // Registered after the buses so it runs before they close (clean-up runs in reverse):
      // a bus whose close waits for in-flight handlers must not wait for the abandoned one.
      context.defer(() => release.resolve());
      await emit(producer, channel.definition, { n: 0 }, { partitionKey: 'victim' });
      await waitFor(() => started.settled, {
        idleMs: context.idleMs,
        description: 'a consumer to start handling the message',
      });
      const victim = holder!;
      await context.killClient(clients[victim]!);
      await seen.until((items) => items.some((s) => s.n === 0), {
        idleMs: context.idleMs,
        description: 'the message to be redelivered after the kill',
      });
      await inBatches(range(1, 10), 10, (n) =>
        emit(producer, channel.definition, { n }, { partitionKey: `key-${n}` }),
      );
      await seen.until((items) => countBy(items).size >= 11, {
        idleMs: context.idleMs,
        description: () => `the survivor to handle ${describeMissing(seen.items, range(0, 11))}`,
      });
      const redelivered = seen.items.filter((s) => s.n === 0);
      expect(
        redelivered.map((s) => s.member),
        'who handled the killed message',
      ).toEqual([1 - victim]);
      expect(
        seen.items.every((s) => s.member !== victim),
        'nothing settled by the killed client',
      ).toBe(true);
    },
  };
}

/** The broker restarts mid-stream: every message still arrives (at least once). */
export function restartBrokerCase(kind: MessageKind): TransportCase {
  return {
    name: `restart the broker mid-stream: no ${nounOf(kind)} is lost`,
    requires: [capabilityOf(kind), 'restartBroker'],
    async run(context: TransportCaseContext) {
      const producerClient = await context.connect();
      const consumerClient = await context.connect();
      const channel = createChannel<Numbered>(context, kind, 'restart');
      const producer = context.bus({ service: channel.producer, transport: producerClient });
      const consumer = context.bus({ service: channel.consumer, transport: consumerClient });
      const seen = createInbox<Seen>();
      await consumer.subscribe({
        concurrency: 4,
        handlers: [
          on(channel.definition, async (m, c) => {
            await pause(1); // keep some messages in flight when the broker goes
            seen.push({ n: m.data.n, key: m.partitionkey, attempt: c.attempt, member: 0 });
          }),
        ],
      });
      const send = (n: number) =>
        emitWithRetry(() =>
          emit(producer, channel.definition, { n }, { partitionKey: `key-${n % 8}` }),
        );
      await inBatches(range(0, 100), 20, send);
      await seen.until((items) => items.length >= 20, {
        idleMs: context.idleMs,
        description: 'the stream to start',
      });
      await context.restartBroker();
      await inBatches(range(100, 100), 20, send);
      const expected = range(0, 200);
      await seen.until((items) => countBy(items).size >= expected.length, {
        idleMs: context.idleMs,
        description: () => `all ${describeMissing(seen.items, expected)}`,
      });
      // Duplicates are allowed here (in-flight messages are redelivered); losses are not.
      expectEachOnce(
        [...new Set(seen.items.map((s) => s.n))].map((n) => ({ n })),
        expected,
        'after a broker restart',
      );
    },
  };
}
