// Broken on purpose: every tenth keyed message is held back and published after the next
// message with the same key (or 50 ms later), so nothing is lost but per-key order breaks.
import type { InMemoryTransport, OutgoingMessage, Transport } from '@eda/core';
import { forwardTransport } from './transport-wrapper.js';

export function reorderingTransport(inner: InMemoryTransport): Transport {
  let keyed = 0;
  const held = new Map<string, { message: OutgoingMessage; timer: NodeJS.Timeout }>();
  const publishOne = async (message: OutgoingMessage) => {
    const key = message.attributes.partitionkey;
    if (key === undefined) return inner.publish([message]);
    const waiting = held.get(key);
    if (waiting) {
      held.delete(key);
      clearTimeout(waiting.timer);
      await inner.publish([message]);
      return inner.publish([waiting.message]);
    }
    if (++keyed % 10 === 0) {
      const timer = setTimeout(() => {
        held.delete(key);
        void inner.publish([message]).catch(() => undefined);
      }, 50);
      held.set(key, { message, timer });
      return;
    }
    return inner.publish([message]);
  };
  return forwardTransport(inner, {
    async publish(messages) {
      for (const message of messages) await publishOne(message);
    },
  });
}
