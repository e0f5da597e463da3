// The outbox relay: claims batches from any outbox store, publishes them through any
// transport, and completes them only after the broker accepted them. At least once: a relay
// that dies mid-batch loses its lease and another relay re-sends the batch.

import { sleep } from '../abortable-wait.js';
import type { OutboxRecord, OutboxStore } from '../contracts/outbox-store.js';
import type { Transport } from '../contracts/transport.js';
import { ConfigurationError, describeError, UnavailableError } from '../errors.js';

/** Options of `createOutboxRelay`. */
export interface OutboxRelayOptions {
  readonly store: OutboxStore<never>;
  readonly transport: Transport;
  /** Records per claim. @default 100 */
  readonly batchSize?: number;
  /** How long a claim lasts; longer than a publish of one batch. @default 30000 */
  readonly leaseMs?: number;
  /** Poll interval when the store has no notifications (and a fallback when it has). @default 1000 */
  readonly pollIntervalMs?: number;
  /** Failed attempts after which a record is dead-lettered. @default 10 */
  readonly maxAttempts?: number;
  /** First backoff after a failed publish; doubles up to `maxBackoffMs`. @default 200 */
  readonly initialBackoffMs?: number;
  /** @default 30000 */
  readonly maxBackoffMs?: number;
  /** Purge published records older than this, in bounded batches; `false` to keep them. @default { olderThanMs: 3600000, everyMs: 60000, limit: 1000 } */
  readonly purge?:
    | false
    | { readonly olderThanMs: number; readonly everyMs: number; readonly limit: number };
  /** Told about failures (publish or store); the relay keeps running. @default none */
  readonly onError?: (error: unknown) => void;
}

/** A running relay. */
export interface OutboxRelay {
  /** Starts relaying in the background. */
  start(): void;
  /** Stops after the in-flight batch is published and completed. */
  stop(): Promise<void>;
  /** Relays until nothing is claimable, then resolves with the number of records published (for tests, scripts and demos). */
  drain(): Promise<number>;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigurationError(`Outbox relay option ${name} is ${value}: use a positive number.`);
  return value;
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { store, transport, onError = () => undefined } = options;
  const batchSize = positive('batchSize', options.batchSize ?? 100);
  const leaseMs = positive('leaseMs', options.leaseMs ?? 30_000);
  const pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs ?? 1000);
  const maxAttempts = positive('maxAttempts', options.maxAttempts ?? 10);
  const initialBackoffMs = positive('initialBackoffMs', options.initialBackoffMs ?? 200);
  const maxBackoffMs = positive('maxBackoffMs', options.maxBackoffMs ?? 30_000);
  const purge = options.purge ?? { olderThanMs: 3_600_000, everyMs: 60_000, limit: 1000 };
  let backoffMs = initialBackoffMs;
  let lastError: unknown;
  let running: { controller: AbortController; loop: Promise<void> } | undefined;

  /** Publishes consecutive runs of one kind; returns the records that were accepted. */
  const publishBatch = async (records: OutboxRecord[]): Promise<void> => {
    let start = 0;
    while (start < records.length) {
      const kind = records[start]!.message.attributes.kind;
      let end = start;
      while (end < records.length && records[end]!.message.attributes.kind === kind) end++;
      const run = records.slice(start, end);
      try {
        const messages = run.map((r) => r.message);
        await (kind === 'command' ? transport.send(messages) : transport.publish(messages));
      } catch (error) {
        await store.complete(records.slice(0, start));
        // The failed run and everything after it stay in order for the next attempt.
        await store.fail(records.slice(start), {
          error: `${describeError(error).type}: ${describeError(error).message}`,
          maxAttempts,
          retryAfterMs: backoffMs,
        });
        throw error;
      }
      start = end;
    }
    await store.complete(records);
  };

  /** One claim-publish-complete cycle; the number published, or -1 after a failure. */
  const cycle = async (): Promise<number> => {
    let records: OutboxRecord[] = [];
    try {
      records = await store.claim({ limit: batchSize, leaseMs });
      if (records.length) await publishBatch(records);
      backoffMs = initialBackoffMs;
      return records.length;
    } catch (error) {
      lastError = error;
      onError(error);
      return -1;
    }
  };

  /**
   * Purges in bounded batches until a batch comes back short, so retention keeps up with any
   * publish rate while each statement stays small.
   */
  const purgeBacklog = async (signal: AbortSignal) => {
    if (!purge) return;
    for (;;) {
      if (signal.aborted) return;
      let purged: number;
      try {
        purged = await store.purge({ olderThanMs: purge.olderThanMs, limit: purge.limit });
      } catch (error) {
        onError(error);
        return;
      }
      if (purged < purge.limit) return;
    }
  };

  const loop = async (signal: AbortSignal) => {
    let lastPurge = 0;
    while (!signal.aborted) {
      const published = await cycle();
      if (purge && Date.now() - lastPurge >= purge.everyMs) {
        lastPurge = Date.now();
        await purgeBacklog(signal);
      }
      if (published < 0) {
        await sleep(backoffMs, signal);
        backoffMs = Math.min(maxBackoffMs, backoffMs * 2);
      } else if (published === 0) {
        const wait = AbortSignal.any([signal, AbortSignal.timeout(pollIntervalMs)]);
        // A failing notification channel degrades to polling; it must not end the loop.
        await (store.waitForChange
          ? store.waitForChange(wait).catch((error: unknown) => {
              onError(error);
              return sleep(pollIntervalMs, wait);
            })
          : sleep(pollIntervalMs, wait));
      }
    }
  };

  return {
    start() {
      if (running) return;
      const controller = new AbortController();
      running = { controller, loop: loop(controller.signal) };
    },
    async stop() {
      if (!running) return;
      running.controller.abort();
      await running.loop;
      running = undefined;
    },
    async drain() {
      let total = 0;
      for (;;) {
        const published = await cycle();
        if (published < 0) {
          throw new UnavailableError(
            'Outbox relay drain stopped: a publish or store call failed.',
            { cause: lastError },
          );
        }
        if (published === 0) return total;
        total += published;
      }
    },
  };
}
