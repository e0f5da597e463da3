// Lets other in-memory stores join the transactions of the in-memory outbox store: a store
// registers what to do when a transaction ends, so its writes and the outbox's commit (or roll
// back) together, as tables of one database would.
const endListeners = new WeakMap<object, Array<(committed: boolean) => void>>();

/** Marks `transaction` as open (called by the outbox store's `begin`). */
export function openTransaction(transaction: object): void {
  endListeners.set(transaction, []);
}

/** Whether `transaction` is an in-memory transaction that is still open. */
export function isOpenTransaction(transaction: unknown): transaction is object {
  return typeof transaction === 'object' && transaction !== null && endListeners.has(transaction);
}

/** Runs `listener` when the open `transaction` commits (true) or rolls back (false). */
export function onTransactionEnd(
  transaction: object,
  listener: (committed: boolean) => void,
): void {
  endListeners.get(transaction)?.push(listener);
}

/** Ends `transaction`: every registered listener runs, synchronously, in registration order. */
export function endTransaction(transaction: object, committed: boolean): void {
  const listeners = endListeners.get(transaction) ?? [];
  endListeners.delete(transaction);
  for (const listener of listeners) listener(committed);
}
