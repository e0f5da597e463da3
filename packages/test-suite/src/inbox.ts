// A recorder of what arrived (messages, observer events), with waits whose idle timer restarts
// on every arrival.
import { waitFor } from './wait-for.js';

/** Things that arrived, in arrival order. */
export interface Inbox<T> {
  /** Everything pushed so far, oldest first. */
  readonly items: readonly T[];
  /** Records an arrival (call it from handlers and observers). */
  push(item: T): void;
  /**
   * Resolves once `predicate(items)` holds; rejects after `idleMs` without a new arrival.
   * @param description - what is awaited, for the failure message
   */
  until(
    predicate: (items: readonly T[]) => boolean,
    options: { readonly idleMs: number; readonly description: string | (() => string) },
  ): Promise<void>;
}

/** A new empty inbox. */
export function createInbox<T>(): Inbox<T> {
  const items: T[] = [];
  return {
    items,
    push: (item) => void items.push(item),
    until: (predicate, { idleMs, description }) =>
      waitFor(() => predicate(items), { idleMs, description, progress: () => items.length }),
  };
}
