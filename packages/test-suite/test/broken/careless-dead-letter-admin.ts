// Two careless dead-letter admins over the in-memory broker. One redrives by writing the message
// back to its topic as it was, so every consumer group of the topic receives it again, not only
// the subscription that gave up on it. The other sends the copy but keeps the dead letter, so a
// second redrive of the same handle delivers it again.
import {
  createInMemoryDeadLetterAdmin,
  type DeadLetterAdmin,
  type InMemoryBroker,
} from '@eda/core';

/** Redrives events to the whole topic: a bystander subscription handles them twice. */
export function broadcastingDeadLetterAdmin(broker: InMemoryBroker): DeadLetterAdmin {
  const admin = createInMemoryDeadLetterAdmin(broker);
  return {
    ...admin,
    async redrive(subscription, selection) {
      const chosen = await admin.list(subscription, { limit: Number.MAX_SAFE_INTEGER });
      const redriven = [];
      for (const deadLetter of chosen) {
        if ('handles' in selection && !selection.handles.includes(deadLetter.handle)) continue;
        const stored = broker.removeDeadLetter(subscription, deadLetter.handle);
        if (!stored) continue;
        const record = {
          headers: stored.headers,
          body: stored.body,
          key: stored.key,
          timestamp: Date.now(),
        };
        if (stored.from === 'topic') broker.topic(deadLetter.destination).append(record);
        else broker.queue(deadLetter.destination).enqueue(record);
        redriven.push(deadLetter);
      }
      return redriven;
    },
  };
}

/** Keeps each dead letter after redriving it: redriving twice delivers twice. */
export function forgetfulDeadLetterAdmin(broker: InMemoryBroker): DeadLetterAdmin {
  const admin = createInMemoryDeadLetterAdmin(broker);
  return {
    ...admin,
    async redrive(subscription, selection) {
      const before = [...broker.deadLetters(subscription)];
      const redriven = await admin.redrive(subscription, selection);
      // Put the redriven ones back, as a store that never marks them would.
      const list = broker.deadLetters(subscription) as unknown as typeof before;
      for (const stored of before)
        if (redriven.some((d) => d.handle === stored.handle)) list.push(stored);
      return redriven;
    },
  };
}
