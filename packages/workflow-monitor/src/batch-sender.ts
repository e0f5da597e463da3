// A bounded buffer drained in batches through an async `send`, one call at a time, retried with
// backoff. An item leaves the buffer only once `send` resolved for it (at least once); when the
// buffer is full, new items are dropped and counted, so the caller never waits.

/** Options of `createBatchSender`. */
export interface BatchSenderOptions<T> {
  readonly send: (items: readonly T[]) => Promise<void>;
  readonly maxBuffered: number;
  readonly batchSize: number;
  /** How long the first item waits for others to fill its batch. */
  readonly delayMs: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Told about each failed send, and once each time the buffer starts dropping. */
  readonly onError: (error: unknown) => void;
  /** Builds the error reported when the buffer starts dropping. */
  readonly dropError: () => Error;
}

/** What a batch sender did so far. */
export interface BatchSenderStats {
  /** Waiting to be sent (including a batch in flight). */
  readonly buffered: number;
  /** Accepted by `send`. */
  readonly sent: number;
  /** Refused because the buffer was full, or left unsent when `close` timed out. */
  readonly dropped: number;
  /** Calls of `send` that failed. */
  readonly failures: number;
}

/** A running batch sender. */
export interface BatchSender<T> {
  /** Buffers `item`, or drops it when the buffer is full or the sender closed. Never throws. */
  add(item: T): void;
  /** Resolves once everything buffered now was sent (retrying until it is). */
  flush(): Promise<void>;
  /** Stops taking items, flushes for up to `timeoutMs`, then drops what is left. */
  close(timeoutMs: number): Promise<void>;
  stats(): BatchSenderStats;
}

/** A timer that does not keep the process alive: a reporter must never hold a service up. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Creates a batch sender; see the file comment for its guarantees. */
export function createBatchSender<T>(options: BatchSenderOptions<T>): BatchSender<T> {
  const { send, maxBuffered, batchSize, delayMs, initialBackoffMs, maxBackoffMs, onError } =
    options;
  let buffer: T[] = [];
  let sending: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let abandoned = false;
  let dropping = false;
  let sent = 0;
  let dropped = 0;
  let failures = 0;

  /** Sends the head batch; true when `send` took it. */
  const sendHead = async (): Promise<boolean> => {
    const batch = buffer.slice(0, batchSize);
    try {
      await send(batch);
    } catch (error) {
      failures += 1;
      onError(error);
      return false;
    }
    // Only this loop removes items, and only from the head: the batch is still there.
    if (!abandoned) buffer.splice(0, batch.length);
    sent += batch.length;
    return true;
  };

  const drain = async () => {
    let backoffMs = initialBackoffMs;
    while (buffer.length && !abandoned) {
      if (await sendHead()) {
        backoffMs = initialBackoffMs;
      } else {
        await delay(backoffMs);
        backoffMs = Math.min(maxBackoffMs, backoffMs * 2);
      }
    }
  };

  /** Starts the drain loop unless it runs; every caller gets the running loop. */
  const start = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    sending ??= drain().finally(() => {
      sending = undefined;
    });
    return sending;
  };

  const add = (item: T) => {
    if (closed || buffer.length >= maxBuffered) {
      dropped += 1;
      if (!dropping && !closed) {
        dropping = true;
        onError(options.dropError());
      }
      return;
    }
    dropping = false;
    buffer.push(item);
    if (sending) return;
    if (buffer.length >= batchSize) void start();
    else timer ??= setTimeout(() => void start(), delayMs).unref();
  };

  const flush = async () => {
    // A loop that started before these items were added may end before they are sent.
    while (buffer.length && !abandoned) await start();
  };

  return {
    add,
    flush,
    async close(timeoutMs) {
      closed = true;
      let timeout: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timeout = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([flush(), timedOut]);
      clearTimeout(timeout);
      if (buffer.length) {
        abandoned = true;
        dropped += buffer.length;
        buffer = [];
      }
    },
    stats: () => ({ buffered: buffer.length, sent, dropped, failures }),
  };
}
