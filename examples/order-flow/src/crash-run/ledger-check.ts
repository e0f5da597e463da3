// The verdict of a run, from the ledger the services wrote (each row in the transaction of the
// effect it records): per order, which effects are missing (lost), applied more than once
// (doubled), or out of order.
//
// Order, precisely: every effect has one cause in the flow (reserved and invoiced are caused by
// paid, shipped by reserved, the notifications by shipped and invoiced). A ledger row's `seq` is
// taken when the row is inserted, inside the transaction of its effect, and a service inserts
// its row before the messages it publishes leave; so in a correct run each effect's first row
// has a higher seq than its cause's first row. A violation is an effect applied before its
// cause's row exists: a consumer acted on a message whose cause was then rolled back and
// written again later, or applied a message before the one that caused it.
import { ORDER_END_STATE } from '../ledger.js';

/** One row of the ledger table. */
export interface LedgerRow {
  readonly seq: number;
  readonly service: string;
  readonly orderId: string;
  readonly effect: string;
  /** When the row was written (epoch ms), where known. */
  readonly at?: number;
}

/** What caused each effect (`service:effect`) in the order flow. */
export const CAUSE_OF: Readonly<Record<string, string>> = {
  'inventory:reserved': 'payments:paid',
  'billing:invoiced': 'payments:paid',
  'shipping:shipped': 'inventory:reserved',
  'notifications:notified-shipped': 'shipping:shipped',
  'notifications:notified-invoice': 'billing:invoiced',
};

export interface OrderViolation {
  readonly orderId: string;
  readonly step: string;
  readonly seq: number;
  readonly cause: string;
  /** Undefined when the cause is not in the ledger at all. */
  readonly causeSeq: number | undefined;
}

/** An effect applied `times` times; `firstAt` is when its first row was written, where known. */
export interface Doubled {
  readonly orderId: string;
  readonly step: string;
  readonly times: number;
  readonly firstAt?: number;
}

export interface LedgerVerdict {
  /** Orders checked (every order placed). */
  readonly orders: number;
  /** Ledger rows of those orders. */
  readonly effects: number;
  /** Effects expected once per order and found 0 times. */
  readonly lost: readonly { orderId: string; step: string }[];
  /** Effects found more than once: `times` rows for one effect. */
  readonly doubled: readonly Doubled[];
  readonly orderViolations: readonly OrderViolation[];
  /** Rows of orders nobody placed, or effects the flow does not have (should be none). */
  readonly strangers: number;
}

/** Checks the ledger rows of a run against the orders placed. */
export function checkLedger(rows: Iterable<LedgerRow>, placed: Iterable<string>): LedgerVerdict {
  const steps = Object.keys(ORDER_END_STATE);
  const firstSeq = new Map<string, Map<string, number>>();
  const firstAt = new Map<string, number>();
  const counts = new Map<string, Map<string, number>>();
  for (const orderId of placed) {
    firstSeq.set(orderId, new Map());
    counts.set(orderId, new Map());
  }
  let effects = 0;
  let strangers = 0;
  for (const row of rows) {
    const step = `${row.service}:${row.effect}`;
    const seen = counts.get(row.orderId);
    const first = firstSeq.get(row.orderId);
    if (!seen || !first || !steps.includes(step)) {
      strangers++;
      continue;
    }
    effects++;
    seen.set(step, (seen.get(step) ?? 0) + 1);
    const seq = Number(row.seq);
    if (!first.has(step) || seq < (first.get(step) as number)) {
      first.set(step, seq);
      if (row.at !== undefined) firstAt.set(`${row.orderId} ${step}`, Number(row.at));
    }
  }
  const lost: { orderId: string; step: string }[] = [];
  const doubled: Doubled[] = [];
  const orderViolations: OrderViolation[] = [];
  for (const [orderId, seen] of counts) {
    const first = firstSeq.get(orderId) as Map<string, number>;
    for (const step of steps) {
      const times = seen.get(step) ?? 0;
      if (times === 0) lost.push({ orderId, step });
      const at = firstAt.get(`${orderId} ${step}`);
      if (times > 1)
        doubled.push({ orderId, step, times, ...(at === undefined ? {} : { firstAt: at }) });
      const cause = CAUSE_OF[step];
      const seq = first.get(step);
      if (!cause || seq === undefined) continue;
      const causeSeq = first.get(cause);
      if (causeSeq === undefined || causeSeq > seq)
        orderViolations.push({ orderId, step, seq, cause, causeSeq });
    }
  }
  return { orders: counts.size, effects, lost, doubled, orderViolations, strangers };
}
