// The crash run's judge: it must see every kind of wrong ledger, or the run proves nothing.
import { describe, expect, it } from 'vitest';
import { attributeDoubles } from '../src/crash-run/doubles-window.js';
import { planFaults } from '../src/crash-run/fault-plan.js';
import { checkLedger, type LedgerRow } from '../src/crash-run/ledger-check.js';
import { seededRandom } from '../src/crash-run/seeded-random.js';

const FLOW: [string, string][] = [
  ['payments', 'paid'],
  ['inventory', 'reserved'],
  ['billing', 'invoiced'],
  ['shipping', 'shipped'],
  ['notifications', 'notified-shipped'],
  ['notifications', 'notified-invoice'],
];

/** A complete, well-ordered ledger for `orders`, one order after the other. */
function goodLedger(orders: string[]): LedgerRow[] {
  let seq = 0;
  return orders.flatMap((orderId) =>
    FLOW.map(([service, effect]) => ({ seq: ++seq, service, orderId, effect })),
  );
}

describe('checkLedger', () => {
  it('passes a complete ledger in flow order', () => {
    const verdict = checkLedger(goodLedger(['a', 'b']), ['a', 'b']);
    expect(verdict).toEqual({
      orders: 2,
      effects: 12,
      lost: [],
      doubled: [],
      orderViolations: [],
      strangers: 0,
    });
  });

  it('reports a missing effect as lost, and an order with no row at all', () => {
    const rows = goodLedger(['a']).filter((r) => r.effect !== 'shipped');
    const verdict = checkLedger(rows, ['a', 'never-seen']);
    expect(verdict.lost).toContainEqual({ orderId: 'a', step: 'shipping:shipped' });
    expect(verdict.lost.filter((l) => l.orderId === 'never-seen')).toHaveLength(6);
    // The notification whose cause is missing is also out of order.
    expect(verdict.orderViolations).toEqual([
      {
        orderId: 'a',
        step: 'notifications:notified-shipped',
        seq: 5,
        cause: 'shipping:shipped',
        causeSeq: undefined,
      },
    ]);
  });

  it('reports an effect applied twice as doubled', () => {
    const rows = [
      ...goodLedger(['a']),
      { seq: 99, service: 'billing', orderId: 'a', effect: 'invoiced' },
    ];
    expect(checkLedger(rows, ['a']).doubled).toEqual([
      { orderId: 'a', step: 'billing:invoiced', times: 2 },
    ]);
  });

  it('reports an effect written before its cause (a notification of a shipment rolled back and redone later)', () => {
    const rows = goodLedger(['a']).map((r) => (r.effect === 'shipped' ? { ...r, seq: 50 } : r));
    expect(checkLedger(rows, ['a']).orderViolations).toEqual([
      {
        orderId: 'a',
        step: 'notifications:notified-shipped',
        seq: 5,
        cause: 'shipping:shipped',
        causeSeq: 50,
      },
    ]);
  });

  it('counts rows of orders nobody placed, and effects the flow does not have', () => {
    const rows = [
      ...goodLedger(['a']),
      { seq: 70, service: 'payments', orderId: 'z', effect: 'paid' },
      { seq: 71, service: 'payments', orderId: 'a', effect: 'refunded' },
    ];
    expect(checkLedger(rows, ['a']).strangers).toBe(2);
  });
});

describe('planFaults', () => {
  const options = {
    targets: ['relay#1', 'inventory#1'],
    kills: 5,
    postgresTerminations: 2,
    redisDrops: 1,
    restartKafka: true,
    restartRabbitMq: true,
  };

  it('gives the same plan for the same seed, and a sorted one', () => {
    const plan = planFaults(seededRandom(7), options);
    expect(planFaults(seededRandom(7), options)).toEqual(plan);
    expect(planFaults(seededRandom(8), options)).not.toEqual(plan);
    expect(plan.map((f) => f.at)).toEqual([...plan.map((f) => f.at)].sort((a, b) => a - b));
    expect(plan).toHaveLength(5 + 2 + 1 + 1 + 1);
    for (const fault of plan) {
      expect(fault.at).toBeGreaterThanOrEqual(0.05);
      expect(fault.at).toBeLessThan(0.85);
    }
  });
});

describe('attributeDoubles (Redis dedupe window)', () => {
  const timeline = [
    { at: 100_000, fault: 'SIGKILL inventory#1', services: ['inventory'], kind: 'window' as const },
    {
      at: 200_000,
      fault: 'Redis drop',
      services: ['inventory', 'billing'],
      kind: 'window' as const,
    },
    {
      at: 300_000,
      until: 320_000,
      fault: 'PostgreSQL: 9 backends ended',
      services: ['billing'],
      kind: 'commit' as const,
    },
    {
      at: 400_000,
      until: 400_040,
      fault: 'PostgreSQL: 4 backends ended',
      services: ['shipping'],
      kind: 'commit' as const,
    },
  ];

  it('explains a double whose first row was written shortly before a fault on its service', () => {
    const result = attributeDoubles(
      [
        { orderId: 'a', step: 'inventory:reserved', times: 2, firstAt: 99_950 },
        { orderId: 'b', step: 'billing:invoiced', times: 2, firstAt: 197_000 },
        { orderId: 'c', step: 'billing:invoiced', times: 2, firstAt: 310_000 },
        { orderId: 'd', step: 'shipping:shipped', times: 2, firstAt: 399_980 },
      ],
      timeline,
    );
    expect(result.unexplained).toEqual([]);
    expect(result.explained.map((d) => [d.orderId, d.fault, d.gapMs])).toEqual([
      ['a', 'SIGKILL inventory#1', 50],
      ['b', 'Redis drop', 3000],
      ['c', 'PostgreSQL: 9 backends ended', 0],
      ['d', 'PostgreSQL: 4 backends ended', 20],
    ]);
    expect(result.explained.map((d) => d.kind)).toEqual(['window', 'window', 'commit', 'commit']);
    expect(result.maxGapMs).toBe(3000);
  });

  it('leaves unexplained a double on another service, long before the fault, after it, or of unknown time', () => {
    const result = attributeDoubles(
      [
        { orderId: 'a', step: 'shipping:shipped', times: 2, firstAt: 99_950 },
        { orderId: 'b', step: 'inventory:reserved', times: 2, firstAt: 50_000 },
        { orderId: 'c', step: 'inventory:reserved', times: 2, firstAt: 100_500 },
        { orderId: 'd', step: 'inventory:reserved', times: 3 },
        { orderId: 'e', step: 'billing:invoiced', times: 2, firstAt: 321_000 },
      ],
      timeline,
    );
    expect(result.explained).toEqual([]);
    expect(result.unexplained.map((d) => d.orderId)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});
