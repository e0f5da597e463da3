// What the transport reports about the failures it handles itself (a copy the broker refuses, a
// capped retry wait, a subscription it had to stop, a commit it dropped after a rejoin, records
// sent again for a partition the acknowledgements left out), as events for `onEvent` and as
// counters for `stats()`.

/** Why the broker refused a write for good: retrying the same write cannot succeed. */
export type WriteRefusal = 'too-large' | 'missing-topic' | 'not-authorized' | 'invalid-record';

/** One thing the transport handled on its own that an operator may want to see. */
export type KafkaTransportEvent =
  | {
      /**
       * The broker refused a dead-letter or retry-topic copy for good. `action` says what the
       * transport did instead: wrote a trimmed dead letter (payload left out), dead-lettered a
       * retry copy that could not be written, or stopped the subscription.
       */
      readonly kind: 'write-refused';
      readonly subscription: string;
      readonly topic: string;
      readonly refusal: WriteRefusal;
      readonly action: 'trimmed' | 'dead-lettered' | 'stopped';
      readonly message: string;
    }
  | {
      /** A retry-topic record was due later than `retry.maxDelayMs` from now (a skewed clock or a forged header); it waited only the cap. */
      readonly kind: 'retry-wait-capped';
      readonly subscription: string;
      readonly topic: string;
      readonly partition: number;
      readonly offset: string;
      readonly requestedMs: number;
      readonly cappedMs: number;
    }
  | {
      /** The subscription stopped itself; `error` says why and what to do. It must be subscribed again. */
      readonly kind: 'subscription-stopped';
      readonly subscription: string;
      readonly error: Error;
    }
  | {
      /**
       * Records whose partition was missing from the broker's acknowledgements were sent again
       * (kafkajs can resolve a send that skipped them after a leader change). Consumers may see
       * some twice; none is lost.
       */
      readonly kind: 'records-resent';
      readonly topic: string;
      readonly partitions: readonly number[];
      readonly records: number;
    }
  | {
      /** A commit queued before the member rejoined its group was not sent under the new generation; those records are delivered again. */
      readonly kind: 'commit-dropped';
      readonly subscription: string;
      readonly topic: string;
      readonly partition: number;
      readonly offset: string;
    };

/** Counts of the events above since the transport was created. */
export interface KafkaTransportStats {
  readonly writesRefused: number;
  readonly deadLettersTrimmed: number;
  readonly retryWaitsCapped: number;
  readonly subscriptionsStopped: number;
  readonly commitsDropped: number;
  /** Records sent again for a partition missing from the acknowledgements. */
  readonly recordsResent: number;
}

/** Counts events and passes them to the application's `onEvent`, isolating it from its failures. */
export class TransportMonitor {
  private readonly counts = {
    writesRefused: 0,
    deadLettersTrimmed: 0,
    retryWaitsCapped: 0,
    subscriptionsStopped: 0,
    commitsDropped: 0,
    recordsResent: 0,
  };

  constructor(private readonly onEvent: ((event: KafkaTransportEvent) => void) | undefined) {}

  report(event: KafkaTransportEvent): void {
    switch (event.kind) {
      case 'write-refused':
        this.counts.writesRefused += 1;
        if (event.action === 'trimmed') this.counts.deadLettersTrimmed += 1;
        break;
      case 'retry-wait-capped':
        this.counts.retryWaitsCapped += 1;
        break;
      case 'subscription-stopped':
        this.counts.subscriptionsStopped += 1;
        break;
      case 'commit-dropped':
        this.counts.commitsDropped += 1;
        break;
      case 'records-resent':
        this.counts.recordsResent += event.records;
        break;
    }
    try {
      this.onEvent?.(event);
    } catch {
      // A failing listener must not change how a record is settled.
    }
  }

  stats(): KafkaTransportStats {
    return { ...this.counts };
  }
}
