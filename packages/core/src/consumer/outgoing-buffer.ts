// The hold-back list of one handler run: what it publishes or sends waits here, by position,
// until it has succeeded, then leaves in as few transport calls as the kinds allow.
import type { OutgoingMessage } from '../contracts/transport.js';
import type { HeldMessage, OutgoingBuffer } from '../message-context.js';

/** A buffer plus the handler step's controls over it. */
export interface HandlerOutgoing extends OutgoingBuffer {
  /** Ends the hold-back: later emits from the handler's context go out directly. */
  close(): void;
  /** Sends what was held, one `deliver` call per group of consecutive kinds, in position order. */
  flush(): Promise<void>;
}

export function createHandlerOutgoing(): HandlerOutgoing {
  const held: Array<{ position: number; held: HeldMessage }> = [];
  let next = 0;
  let open = true;
  return {
    get open() {
      return open;
    },
    reserve: () => next++,
    add(position, message) {
      held.push({ position, held: message });
    },
    close() {
      open = false;
    },
    async flush() {
      held.sort((a, b) => a.position - b.position);
      // One call per deliver function (per kind), in the order each kind first appears: within
      // a kind the handler's order is kept, and the batch leaves in one transport call.
      const groups = new Map<HeldMessage['deliver'], OutgoingMessage[]>();
      for (const { held: entry } of held) {
        const group = groups.get(entry.deliver);
        if (group) group.push(entry.message);
        else groups.set(entry.deliver, [entry.message]);
      }
      held.length = 0;
      for (const [deliver, messages] of groups) await deliver(messages);
    },
  };
}
