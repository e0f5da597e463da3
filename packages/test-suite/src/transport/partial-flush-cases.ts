// Transport case about a handler's flush that fails part-way: the delivery is retried, the
// handler runs again and re-sends what already left with the same ids, so downstream
// message-id dedupe can recognise the copies.
import {
  defineCommand,
  defineEvent,
  type MessageKind,
  type OutgoingMessage,
  on,
  type Transport,
} from '@eda/core';
import { expect } from 'vitest';
import { createInbox } from '../inbox.js';
import { createChannel, emit } from './channel.js';
import type { Numbered } from './delivery-cases.js';
import type { TransportCase } from './transport-setup.js';

/** `inner`, except that the second message it is given is refused once, after the first was stored. */
function refusingSecondOnce(inner: Transport): Transport {
  let stored = 0;
  let refused = false;
  const forward = async (kind: 'publish' | 'send', messages: readonly OutgoingMessage[]) => {
    for (const message of messages) {
      if (!refused && stored === 1) {
        refused = true;
        throw new Error('refused: the broker took the first message of the flush only');
      }
      await (kind === 'publish' ? inner.publish([message]) : inner.send([message]));
      stored += 1;
    }
  };
  return {
    name: inner.name,
    capabilities: inner.capabilities,
    publish: (messages) => forward('publish', messages),
    send: (messages) => forward('send', messages),
    subscribe: (options, handler) => inner.subscribe(options, handler),
    close: () => inner.close(),
  };
}

/** A flush that fails part-way is retried with the same message ids. */
export const partialFlushCase: TransportCase = {
  name: 'partial flush: when what a handler emitted is refused part-way, the retry re-sends the messages with the same ids',
  requires: ['delayedRetry'],
  async run(context) {
    const { events } = context.capabilities;
    const kind: MessageKind = events ? 'event' : 'command';
    const client = await context.connect();
    const handlerService = context.name('handler');
    const trigger = createChannel<Numbered>(context, kind, 'flush-trigger', {
      consumer: handlerService,
    });
    const downstream = context.name('downstream');
    const Out = events
      ? defineEvent<Numbered>({ type: context.name('contract.flushed'), owner: handlerService })
      : defineCommand<Numbered>({ type: context.name('contract.flushed'), owner: downstream });
    const producer = context.bus({ service: trigger.producer, transport: client });
    const handler = context.bus({
      service: handlerService,
      transport: refusingSecondOnce(client),
      retry: { immediateRetries: 0, maxDeliveries: 5, initialDelayMs: 50, jitter: 0 },
    });
    const arrived = createInbox<{ n: number; id: string }>();
    await context
      .bus({ service: downstream, transport: client })
      .subscribe({ handlers: [on(Out, (m) => arrived.push({ n: m.data.n, id: m.id }))] });
    let runs = 0;
    await handler.subscribe({
      handlers: [
        on(trigger.definition, async () => {
          runs += 1;
          await emit(handler, Out, { n: 1 }, { partitionKey: 'k' });
          await emit(handler, Out, { n: 2 }, { partitionKey: 'k' });
        }),
      ],
    });
    await emit(producer, trigger.definition, { n: 0 }, { partitionKey: 'k' });
    await arrived.until((items) => items.some((s) => s.n === 2), {
      idleMs: context.idleMs,
      description: () => `the retried flush (handler ran ${runs} times)`,
    });
    // The first message left twice (once per flush): wait for every copy.
    await arrived.until((items) => items.length >= 3, {
      idleMs: context.idleMs,
      description: () => `3 copies (have ${arrived.items.length})`,
    });
    expect(runs, 'handler runs (the failed flush is retried)').toBe(2);
    const firsts = arrived.items.filter((s) => s.n === 1);
    expect(firsts, 'copies of the message that left before the refusal').toHaveLength(2);
    expect(
      firsts[1]!.id,
      'the copy re-sent by the retry has the id of the one that already left',
    ).toBe(firsts[0]!.id);
    expect(
      arrived.items.filter((s) => s.n === 2),
      'the refused message, sent by the retry',
    ).toHaveLength(1);
  },
};
