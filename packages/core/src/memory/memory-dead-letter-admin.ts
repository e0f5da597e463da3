// The dead-letter admin of the in-memory broker: the embedded demo's and the unit tests'. A
// redriven event goes back onto its topic, named for its subscription (other groups skip it); a
// command goes back onto its queue, which only its owner reads.

import { fromBinaryHeaders } from '../binary-mode.js';
import type {
  DeadLetter,
  DeadLetterAdmin,
  RedriveSelection,
} from '../contracts/dead-letter-admin.js';
import { deadLetterOf } from '../dead-letter-view.js';
import { redriveHeaders } from '../redrive-headers.js';
import { selectForRedrive } from '../redrive-selection.js';
import type { InMemoryBroker, InMemoryDeadLetter } from './memory-broker.js';

/** Creates the dead-letter admin of an in-memory broker (`transport.broker`). */
export function createInMemoryDeadLetterAdmin(broker: InMemoryBroker): DeadLetterAdmin {
  const view = (subscription: string, stored: InMemoryDeadLetter): DeadLetter =>
    deadLetterOf({
      handle: stored.handle,
      subscription,
      headers: stored.headers,
      attributes: fromBinaryHeaders(stored.headers),
      body: stored.body,
    });
  const all = (subscription: string) =>
    broker.deadLetters(subscription).map((stored) => view(subscription, stored));

  return {
    async list(subscription, { code, limit = 100 } = {}) {
      return all(subscription)
        .filter((d) => code === undefined || d.reason.code === code)
        .slice(0, limit);
    },
    async get(subscription, handle) {
      return all(subscription).find((d) => d.handle === handle);
    },
    async redrive(subscription, selection: RedriveSelection) {
      const redriven: DeadLetter[] = [];
      for (const deadLetter of selectForRedrive(all(subscription), selection)) {
        const stored = broker.removeDeadLetter(subscription, deadLetter.handle);
        if (!stored) continue;
        const record = {
          headers: redriveHeaders(stored.headers, subscription, stored.handle),
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
    async discard(subscription, handle) {
      return broker.removeDeadLetter(subscription, handle) !== undefined;
    },
    async close() {},
  };
}
