// What a bus reports as it works: the raw material for logs, metrics, timelines and the
// workflow tracker. Observers must not throw; errors they throw are swallowed.

import type { ConsumeOutcome } from './consumer/consume-context.js';
import type { DeadLetterReason } from './contracts/transport.js';
import type { Envelope, EnvelopeAttributes } from './envelope.js';

/** One thing that happened to a message. */
export type BusEvent =
  | {
      readonly kind: 'published';
      readonly service: string;
      readonly message: EnvelopeAttributes;
      readonly via: 'transport' | 'outbox';
    }
  | {
      readonly kind: 'consumed';
      readonly service: string;
      readonly subscription: string;
      readonly message: Envelope;
      readonly outcome: ConsumeOutcome;
      readonly attempt: number;
      /** When processing of this try began (epoch ms): what the handler emitted comes after it. */
      readonly startedAt: number;
    }
  | {
      readonly kind: 'retry';
      readonly service: string;
      readonly subscription: string;
      readonly message: EnvelopeAttributes | undefined;
      readonly attempt: number;
      readonly delayMs: number;
      readonly reason: string;
      /** The retry waits for another consumer's claim and keeps its attempt (see `Disposition`). */
      readonly deferred: boolean;
    }
  /** The idempotency lease expired before the handler finished: the side effect may have happened twice. */
  | {
      readonly kind: 'lease-lost';
      readonly service: string;
      readonly subscription: string;
      readonly message: EnvelopeAttributes;
    }
  | {
      readonly kind: 'dead-lettered';
      readonly service: string;
      readonly subscription: string;
      readonly message: EnvelopeAttributes | undefined;
      readonly reason: DeadLetterReason;
    };

/** Receives bus events. */
export type BusObserver = (event: BusEvent) => void;

/** Calls every observer, isolating the bus from their failures. */
export function notifyAll(observers: readonly BusObserver[], event: BusEvent): void {
  for (const observer of observers) {
    try {
      observer(event);
    } catch {
      // An observer's bug must not change how a message is settled.
    }
  }
}
