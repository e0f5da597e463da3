// The in-memory queue: one owner, competing consumers with a prefetch limit, ack removes,
// retries come back after their delay with the delivery count raised, dead-letters are kept
// with their reason, and a killed consumer's unacked messages are redelivered to others.
import type { DeliveryOrigin, Disposition } from '../contracts/transport.js';
import { Fifo } from '../fifo.js';
import type { DeadLetterSink, StoredRecord } from './memory-log.js';

interface QueuedMessage {
  readonly record: StoredRecord;
  deliveries: number;
}

/** A consumer attached to a queue. */
export interface QueueConsumer {
  readonly prefetch: number;
  deliver(record: StoredRecord, attempt: number, origin: DeliveryOrigin): Promise<Disposition>;
}

interface ConsumerState {
  readonly consumer: QueueConsumer;
  readonly inFlight: Set<QueuedMessage>;
  killed: boolean;
  drained: Promise<void>;
  onDrained: () => void;
}

export class MemoryQueue {
  /** The subscription that owns the queue's command types; set by the first consumer. */
  owner: string | undefined;
  private readonly ready = new Fifo<QueuedMessage>();
  private readonly consumers: ConsumerState[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private next = 0;
  private generation = 0;

  constructor(
    readonly name: string,
    private readonly deadLetter: DeadLetterSink,
  ) {}

  /** Messages waiting (not in flight, not waiting for a retry delay). */
  get depth(): number {
    return this.ready.length;
  }

  enqueue(record: StoredRecord): void {
    this.ready.push({ record, deliveries: 0 });
    this.dispatch();
  }

  attach(consumer: QueueConsumer): ConsumerState {
    const state: ConsumerState = {
      consumer,
      inFlight: new Set(),
      killed: false,
      drained: Promise.resolve(),
      onDrained: () => undefined,
    };
    this.consumers.push(state);
    this.dispatch();
    return state;
  }

  /** Stops giving the consumer messages and waits for its in-flight ones to settle. */
  async detach(state: ConsumerState): Promise<void> {
    this.remove(state);
    if (state.inFlight.size) await state.drained;
  }

  /** Drops the consumer at once: its unacked messages go back to the queue for others. */
  kill(state: ConsumerState): void {
    state.killed = true;
    this.remove(state);
    this.ready.unshiftAll(state.inFlight);
    state.inFlight.clear();
    this.dispatch();
  }

  /** Simulates a broker restart: every unacked message is redelivered; late settlements are ignored. */
  restart(): void {
    this.generation += 1;
    for (const state of this.consumers) {
      this.ready.unshiftAll(state.inFlight);
      state.inFlight.clear();
      state.onDrained();
    }
    this.dispatch();
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private remove(state: ConsumerState): void {
    const index = this.consumers.indexOf(state);
    if (index >= 0) this.consumers.splice(index, 1);
  }

  private dispatch(): void {
    while (this.ready.length && this.consumers.length) {
      const state = this.pickConsumer();
      if (!state) return;
      const message = this.ready.shift()!;
      this.deliver(state, message);
    }
  }

  private pickConsumer(): ConsumerState | undefined {
    for (let i = 0; i < this.consumers.length; i++) {
      const state = this.consumers[(this.next + i) % this.consumers.length]!;
      if (state.inFlight.size < state.consumer.prefetch) {
        this.next = (this.next + i + 1) % this.consumers.length;
        return state;
      }
    }
    return undefined;
  }

  private deliver(state: ConsumerState, message: QueuedMessage): void {
    message.deliveries += 1;
    if (state.inFlight.size === 0)
      state.drained = new Promise((resolve) => (state.onDrained = resolve));
    state.inFlight.add(message);
    const generation = this.generation;
    const origin: DeliveryOrigin = { destination: this.name };
    state.consumer
      .deliver(message.record, message.deliveries, origin)
      .catch((): Disposition => ({ type: 'retry', delayMs: 100, reason: 'handler threw' }))
      .then((disposition) => {
        // A killed consumer or a restarted broker already put the message back.
        if (state.killed || generation !== this.generation || !state.inFlight.delete(message))
          return;
        if (state.inFlight.size === 0) state.onDrained();
        this.settle(message, disposition, origin);
        this.dispatch();
      });
  }

  private settle(message: QueuedMessage, disposition: Disposition, origin: DeliveryOrigin): void {
    if (disposition.type === 'dead-letter') this.deadLetter(message.record, disposition, origin);
    if (disposition.type !== 'retry') return;
    // A deferred retry waited for another consumer's claim: its redelivery keeps the attempt.
    if (disposition.deferred) message.deliveries -= 1;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.ready.push(message);
      this.dispatch();
    }, disposition.delayMs);
    this.timers.add(timer);
  }
}
