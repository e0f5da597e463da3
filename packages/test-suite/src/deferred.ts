// A promise settled from outside: used to hold a handler mid-message and release it later.

/** A promise with its resolve function. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  /** Settles `promise`; later calls do nothing. */
  resolve(value: T): void;
  /** True once `resolve` was called. */
  readonly settled: boolean;
}

/** A new pending deferred. */
export function createDeferred<T = void>(): Deferred<T> {
  let settle!: (value: T) => void;
  let settled = false;
  const promise = new Promise<T>((resolve) => {
    settle = resolve;
  });
  return {
    promise,
    resolve(value) {
      settled = true;
      settle(value);
    },
    get settled() {
      return settled;
    },
  };
}
