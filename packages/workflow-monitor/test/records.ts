// Audit records for the tests, with readable defaults, and the workflow most tests watch.
import { type AuditRecord, defineWorkflow } from '../src/index.js';

/** An order: shipping must handle order.placed within 1 s, order.shipped ends it within 5 s. */
export const order = defineWorkflow({
  name: 'order',
  startsWith: 'order.placed',
  endsWith: { all: ['order.shipped'] },
  steps: [{ type: 'order.placed', service: 'shipping', deadlineMs: 1000 }],
  deadlineMs: 5000,
});

let next = 0;

/** A record of `type` in flow `correlationId` at `at`; `published` by `orders` unless told. */
export function rec(
  correlationId: string,
  type: string,
  at: number,
  fields: Partial<AuditRecord> = {},
): AuditRecord {
  next += 1;
  return {
    id: `r${String(next).padStart(6, '0')}`,
    action: 'published',
    service: 'orders',
    messageId: `m-${type}-${next}`,
    type,
    correlationId,
    at,
    ...fields,
  };
}
