// Whether a batch must stop starting work (abandoned by a rebalance, close, or a killed member),
// asked once per record. AbortSignal.any's `aborted` getter re-walks its sources on every read,
// so the hot path reads the plain source signals, and the combined signal is built only when a
// wait (retry delay, write backoff) needs one.

/** The stop condition of one batch: any of its source signals aborted. */
export class BatchStop {
  private combined: AbortSignal | undefined;

  constructor(private readonly sources: readonly AbortSignal[]) {}

  /** True once any source aborted. */
  get aborted(): boolean {
    for (const source of this.sources) if (source.aborted) return true;
    return false;
  }

  /** A signal that aborts with the first source, for waits that must end early. */
  get signal(): AbortSignal {
    this.combined ??= AbortSignal.any([...this.sources]);
    return this.combined;
  }
}
