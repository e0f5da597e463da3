// Coalesces single operations issued close together (same event-loop turn by default) into one
// call per group, so a consumer that handles a fetched batch concurrently pays one Redis round
// trip for the batch's claims instead of one per message, without changing core's pipeline,
// which claims message by message.

/** Options of `createCoalescer`. */
export interface CoalescerOptions<TItem, TResult> {
  /**
   * Largest number of items sent in one call: a group holding this many items is sent at once
   * instead of at the end of the window (so a small value lets the server start on a burst's
   * first items while the caller still produces the rest).
   */
  readonly maxBatchSize: number;
  /** How long to gather after the first item: 0 means until the end of this event-loop turn. */
  readonly windowMs: number;
  /**
   * Into how many calls one group's gathered items are split, all sent at once; each call gets
   * at least `minSplit` items. 1 sends a group in one call.
   */
  readonly splitInto?: number;
  /** The fewest items in one call of a split group. */
  readonly minSplit?: number;
  /** Sends one group's items and returns their results in the same order. */
  readonly flush: (group: string, items: readonly TItem[]) => Promise<readonly TResult[]>;
}

interface Waiting<TItem, TResult> {
  readonly item: TItem;
  readonly resolve: (result: TResult) => void;
  readonly reject: (error: unknown) => void;
}

/** Gathers items per group and sends each group with one `flush` call. */
export interface Coalescer<TItem, TResult> {
  /** Adds an item to `group`'s next call; resolves with its own result. */
  add(group: string, item: TItem): Promise<TResult>;
}

export function createCoalescer<TItem, TResult>(
  options: CoalescerOptions<TItem, TResult>,
): Coalescer<TItem, TResult> {
  const { maxBatchSize, windowMs, flush, splitInto = 1, minSplit = 8 } = options;
  let groups = new Map<string, Waiting<TItem, TResult>[]>();
  let scheduled = false;

  const send = (group: string, waiting: Waiting<TItem, TResult>[]) => {
    // flush is called synchronously here; a throw or a rejection both settle every waiter.
    let sent: Promise<readonly TResult[]>;
    try {
      sent = flush(
        group,
        waiting.map((w) => w.item),
      );
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(
      (results) => {
        waiting.forEach((w, i) => {
          w.resolve(results[i] as TResult);
        });
      },
      (error: unknown) => {
        for (const w of waiting) w.reject(error);
      },
    );
  };

  // Split calls are sent together; the server answers them one by one, so the first answer can
  // be handled here while the server still runs the next call, instead of each side waiting.
  const sendSplit = (group: string, waiting: Waiting<TItem, TResult>[]) => {
    const parts = Math.min(splitInto, Math.floor(waiting.length / minSplit));
    if (parts <= 1) {
      send(group, waiting);
      return;
    }
    const size = Math.ceil(waiting.length / parts);
    for (let i = 0; i < waiting.length; i += size) send(group, waiting.slice(i, i + size));
  };

  const sendAll = () => {
    scheduled = false;
    const ready = groups;
    groups = new Map();
    for (const [group, waiting] of ready) sendSplit(group, waiting);
  };

  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    if (windowMs > 0) setTimeout(sendAll, windowMs);
    else setImmediate(sendAll);
  };

  return {
    add(group, item) {
      return new Promise<TResult>((resolve, reject) => {
        let waiting = groups.get(group);
        if (!waiting) {
          waiting = [];
          groups.set(group, waiting);
        }
        waiting.push({ item, resolve, reject });
        if (waiting.length >= maxBatchSize) {
          groups.delete(group);
          sendSplit(group, waiting);
        } else {
          schedule();
        }
      });
    },
  };
}
