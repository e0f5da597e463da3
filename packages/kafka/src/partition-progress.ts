// Which records of one fetched batch may be committed: the commit point only moves past a
// record when it and every earlier record of the batch has been settled (acked, dead-lettered
// or handed to a retry topic). Records settle out of order under per-key concurrency; the
// commit point never jumps over one that has not.

/** Commit bookkeeping of the records of one partition taken in one fetch, by position. */
export class PartitionProgress {
  private readonly settled: Uint8Array;
  /** Position of the first record not yet settled. */
  private head = 0;

  /** @param offsets the batch's offsets in log order (ascending). */
  constructor(private readonly offsets: readonly string[]) {
    this.settled = new Uint8Array(offsets.length);
  }

  /** Marks the record at `position` in the batch as settled. */
  settle(position: number): void {
    this.settled[position] = 1;
    while (this.head < this.offsets.length && this.settled[this.head] === 1) this.head += 1;
  }

  /** The highest offset such that it and every earlier record are settled, if any. */
  lastContiguous(): bigint | undefined {
    return this.head === 0 ? undefined : BigInt(this.offsets[this.head - 1]!);
  }

  /** Records not settled yet. */
  get pending(): number {
    return this.offsets.length - this.head;
  }
}
