// The outbox relay: claims batches from any outbox store, publishes them through any
// transport, and completes them only after the broker accepted them. At least once: a relay
// that dies mid-batch loses its lease and another relay re-sends the batch.

import { sleep } from '../abortable-wait.js';
import type { OutboxRecord, OutboxStore } from '../contracts/outbox-store.js';
import type { OutgoingMessage, Transport } from '../contracts/transport.js';
import { ConfigurationError, describeError, UnavailableError } from '../errors.js';
import { CORE_SCOPE } from '../telemetry/core-scope.js';
import { instrumentsFor, secondsSince } from '../telemetry/instruments.js';
import { inSharedCreationContext, type ProcessSpanParent } from '../tracing.js';
import { observeBacklog } from './backlog-gauges.js';
import { publishIsolatingRefusals } from './refusal-isolation.js';

/**
 * Told which messages a relay published, after the transport accepted them: the moment an
 * outbox write really left the service (its transaction had committed), unlike the bus's
 * `published` event with `via: 'outbox'`, which fires at the write. Must not throw; errors it
 * throws are swallowed.
 */
export type OutboxRelayObserver = (published: readonly OutgoingMessage[]) => void;

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
  /**
   * Failed attempts after which a record is dead-lettered. Only a record the broker refused on
   * its own counts an attempt: a refused batch is retried in halves down to single records,
   * and the later records of a refused record's aggregate wait without counting one. @default 10
   */
  readonly maxAttempts?: number;
  /**
   * First backoff after a failed publish; doubles up to `maxBackoffMs`. A refused record waits
   * `initialBackoffMs * 2^attempts` before its next attempt. @default 200
   */
  readonly initialBackoffMs?: number;
  /** @default 30000 */
  readonly maxBackoffMs?: number;
  /** Purge published records older than this, in bounded batches; `false` to keep them. @default { olderThanMs: 3600000, everyMs: 60000, limit: 1000 } */
  readonly purge?:
    | false
    | { readonly olderThanMs: number; readonly everyMs: number; readonly limit: number };
  /**
   * OpenTelemetry choices. `parent: 'producer'`: a batch whose records all belong to one trace
   * is published inside their creation context, so the transport's `send` span joins that
   * trace (for viewers without span links, such as Zipkin); a batch of several traces, and
   * every batch with `'ambient'`, gets a send span of its own that links each record's
   * creation context. @default { parent: 'ambient' }
   */
  readonly tracing?: { readonly parent?: ProcessSpanParent };
  /** Told about failures (an UnavailableError per refused record, with the broker's error as cause; store errors as thrown); the relay keeps running. @default none */
  readonly onError?: (error: unknown) => void;
  /** Told about each batch's published messages once the transport accepted them (such as an audit reporter's `observeRelay`). @default [] */
  readonly observers?: readonly OutboxRelayObserver[];
}

/** A running relay. */
export interface OutboxRelay {
  /** Starts relaying in the background. */
  start(): void;
  /** Stops after the in-flight batch is published and completed. */
  stop(): Promise<void>;
  /**
   * Relays until nothing is claimable, then resolves with the number of records published (for
   * tests, scripts and demos). A refused record is reported to `onError` and waits for its
   * backoff while the others are published; drain rejects only when a cycle published nothing
   * because the store failed or the broker refused.
   */
  drain(): Promise<number>;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigurationError(`Outbox relay option ${name} is ${value}: use a positive number.`);
  return value;
}

/**
 * Creates a relay that publishes what the outbox store holds: it claims batches, publishes them
 * with broker acks, completes them, backs off while the broker fails and dead-letters a record
 * after `maxAttempts`. Call `start()` (or `drain()` in tests and scripts).
 * @throws ConfigurationError when a numeric option is not a positive number.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { store, transport, onError = () => undefined, observers = [] } = options;
  const batchSize = positive('batchSize', options.batchSize ?? 100);
  const leaseMs = positive('leaseMs', options.leaseMs ?? 30_000);
  const pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs ?? 1000);
  const maxAttempts = positive('maxAttempts', options.maxAttempts ?? 10);
  const initialBackoffMs = positive('initialBackoffMs', options.initialBackoffMs ?? 200);
  const maxBackoffMs = positive('maxBackoffMs', options.maxBackoffMs ?? 30_000);
  const purge = options.purge ?? { olderThanMs: 3_600_000, everyMs: 60_000, limit: 1000 };
  const sendInCreationContext = options.tracing?.parent === 'producer';
  let backoffMs = initialBackoffMs;
  let lastError: unknown;
  let running: { controller: AbortController; loop: Promise<void> } | undefined;
  let stopGauges: (() => void) | undefined;

  /** The wait before a refused record's next attempt: initialBackoffMs * 2^(attempts so far). */
  const backoffFor = (record: OutboxRecord) =>
    Math.min(maxBackoffMs, initialBackoffMs * 2 ** Math.min(record.attempts, 30));

  /**
   * Publishes a claimed batch and settles every record: accepted ones complete; a record refused
   * on its own counts an attempt (and is dead-lettered at `maxAttempts`); records held behind it
   * or not tried are released without counting one. Returns how many were published, or -1
   * when nothing was and the broker refused (so the loop backs off).
   */
  const publishBatch = async (records: OutboxRecord[], claimedAt: number): Promise<number> => {
    // Isolation stops at half the lease, well before another relay may re-claim these records.
    const publish = () => publishIsolatingRefusals(records, transport, claimedAt + leaseMs / 2);
    const result = await (sendInCreationContext
      ? inSharedCreationContext(
          records.map((r) => r.message),
          publish,
        )
      : publish());
    if (result.published.length) {
      const messages = result.published.map((record) => record.message);
      for (const observer of observers) {
        try {
          observer(messages);
        } catch {
          // An observer's bug must not change how records are settled.
        }
      }
    }
    await store.complete(result.published);
    for (const { record, error } of result.refused) {
      const reason = describeError(error);
      const retryAfterMs = backoffFor(record);
      await store.fail([record], {
        error: `${reason.type}: ${reason.message}`,
        maxAttempts,
        retryAfterMs,
      });
      const attempt = record.attempts + 1;
      const aggregate = record.message.attributes.partitionkey;
      lastError = new UnavailableError(
        `Outbox relay: ${transport.name} refused record ${record.recordId} (type ${record.message.attributes.type}${aggregate === undefined ? '' : `, aggregate ${aggregate}`}) on its own, attempt ${attempt} of ${maxAttempts}: ${attempt >= maxAttempts ? 'it is now dead in the outbox; fix the cause and reset it to pending to send it again' : `retrying in ${retryAfterMs} ms`}. ${reason.type}: ${reason.message}`,
        { cause: error },
      );
      onError(lastError);
    }
    const first = result.refused[0];
    if (result.blocked.length) {
      await store.fail(
        result.blocked,
        {
          error: `Deferred behind refused record ${first?.record.recordId} of its aggregate`,
          maxAttempts,
          retryAfterMs: 0,
        },
        { deferred: true },
      );
    }
    if (result.untried.length) {
      await store.fail(
        result.untried,
        {
          error: 'Not tried: the broker refused the records before it, or the lease ran short',
          maxAttempts,
          retryAfterMs: 0,
        },
        { deferred: true },
      );
    }
    return result.published.length === 0 && first ? -1 : result.published.length;
  };

  /** The relay's batch metrics (skipped while no metrics SDK is registered). */
  const recordBatch = (size: number, startedAt: number, failed: boolean) => {
    const instruments = instrumentsFor(CORE_SCOPE);
    if (!instruments) return;
    const attributes = {
      'eda.transport': transport.name,
      ...(failed ? { 'error.type': 'refused' } : {}),
    };
    instruments.relayBatchSize.record(size, attributes);
    instruments.relayBatchDuration.record(secondsSince(startedAt), attributes);
  };

  /** One claim-publish-complete cycle; the number published, or -1 after a failure. */
  const cycle = async (): Promise<number> => {
    try {
      const claimedAt = Date.now();
      const startedAt = performance.now();
      const records = await store.claim({ limit: batchSize, leaseMs });
      const published = records.length ? await publishBatch(records, claimedAt) : 0;
      if (published >= 0) backoffMs = initialBackoffMs;
      if (records.length) recordBatch(records.length, startedAt, published < 0);
      return published;
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

  /**
   * Waits for a notification or the poll interval. The poll timer is a real (ref'd) timer, not
   * `AbortSignal.timeout` (whose timer is unref'd): a running relay keeps its process alive
   * even while its notification connection and every pooled connection are down.
   */
  const waitForWork = async (signal: AbortSignal) => {
    // An 'abort' listener added after stop() never fires: without this check a relay stopped
    // during a purge would sit out a whole poll interval before stop() resolves.
    if (signal.aborted) return;
    const waiting = new AbortController();
    const timer = setTimeout(() => waiting.abort(), pollIntervalMs);
    const stopWaiting = () => waiting.abort();
    signal.addEventListener('abort', stopWaiting, { once: true });
    try {
      // A failing notification channel degrades to polling; it must not end the loop.
      await (store.waitForChange
        ? store.waitForChange(waiting.signal).catch((error: unknown) => {
            onError(error);
            return sleep(pollIntervalMs, waiting.signal);
          })
        : sleep(pollIntervalMs, waiting.signal));
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', stopWaiting);
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
        await waitForWork(signal);
      }
    }
  };

  return {
    start() {
      if (running) return;
      const controller = new AbortController();
      running = { controller, loop: loop(controller.signal) };
      stopGauges = observeBacklog(store, onError);
    },
    async stop() {
      if (!running) return;
      running.controller.abort();
      stopGauges?.();
      stopGauges = undefined;
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
