// Each service's record of the effects it applied (paid, reserved, shipped, ...), one entry per
// effect. On PostgreSQL (postgres-ledger.ts) it is written in the handler's own transaction, so
// what the services did can be counted from their state: an effect applied twice is two rows.

/** One effect a service applied for an order. */
export interface LedgerEntry {
  readonly service: string;
  readonly orderId: string;
  /** What was done, such as `reserved` or `shipped`. */
  readonly effect: string;
}

/** Where services record their effects. */
export interface Ledger {
  /**
   * Records an effect. In `transaction` when given (a writer's own transaction); otherwise in the
   * transaction of the message being handled where the store has one (the inbox's), so the
   * entry commits if and only if the handling does.
   */
  record(entry: LedgerEntry, transaction?: unknown): Promise<void>;
  /** Whether the effect is recorded, read as `record` would write it (in `transaction` when given). */
  has(entry: LedgerEntry, transaction?: unknown): Promise<boolean>;
}

/** The embedded ledger: entries in memory, in the order they were recorded. */
export function createInMemoryLedger(): Ledger & { readonly entries: readonly LedgerEntry[] } {
  const entries: LedgerEntry[] = [];
  return {
    entries,
    async record(entry) {
      entries.push(entry);
    },
    async has({ service, orderId, effect }) {
      return entries.some(
        (e) => e.service === service && e.orderId === orderId && e.effect === effect,
      );
    },
  };
}

/** The effects an order has once the flow is done, each exactly once (`service:effect`). */
export const ORDER_END_STATE: Readonly<Record<string, 1>> = {
  'payments:paid': 1,
  'inventory:reserved': 1,
  'billing:invoiced': 1,
  'shipping:shipped': 1,
  'notifications:notified-shipped': 1,
  'notifications:notified-invoice': 1,
};

/** Entries counted per order and `service:effect`. */
export function countLedger(entries: readonly LedgerEntry[]): Map<string, Record<string, number>> {
  const counts = new Map<string, Record<string, number>>();
  for (const { orderId, service, effect } of entries) {
    const steps = counts.get(orderId) ?? {};
    const step = `${service}:${effect}`;
    steps[step] = (steps[step] ?? 0) + 1;
    counts.set(orderId, steps);
  }
  return counts;
}
