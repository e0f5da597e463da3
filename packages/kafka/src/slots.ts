// A counting semaphore that bounds the handlers running at once for one subscription member.
// Waiters are served first come, first served so that no key starves.

/** Bounded in-flight handlers. */
export class Slots {
  private free: number;
  private waiting: Array<() => void> = [];
  private head = 0;

  constructor(readonly size: number) {
    this.free = size;
  }

  /** Takes a slot if one is free at once (the common case, with no promise). */
  tryAcquire(): boolean {
    if (this.free > 0 && this.head === this.waiting.length) {
      this.free -= 1;
      return true;
    }
    return false;
  }

  /**
   * Takes a slot, waiting in line for one. Callers that were abandoned meanwhile (rebalance,
   * close) release it again at once, so waiting needs no abort bookkeeping per waiter.
   */
  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiting.push(resolve);
    });
  }

  /** Gives a slot back, handing it straight to the oldest waiter if there is one. */
  release(): void {
    if (this.head < this.waiting.length) {
      const next = this.waiting[this.head]!;
      this.head += 1;
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting = this.waiting.slice(this.head);
        this.head = 0;
      }
      next();
    } else {
      this.free += 1;
    }
  }
}
