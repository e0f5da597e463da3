// The Mermaid text of a flow: who sent what to whom, in the order it happened.
import { describe, expect, it } from 'vitest';
import { sequenceDiagram } from '../src/index.js';
import { rec } from './records.js';

describe('sequenceDiagram', () => {
  it('draws consumed messages as arrows from their sender, marks retries, skips and dead letters, and notes what nobody consumed', () => {
    const paid = { messageId: 'm-paid' };
    const ship = { messageId: 'm-ship' };
    const timeline = [
      // Given out of order: the diagram follows the records' times.
      rec('o-1', 'payment.completed', 30, { ...paid, action: 'handled', service: 'billing' }),
      rec('o-1', 'payment.completed', 10, { ...paid, action: 'relayed', service: 'payments' }),
      rec('o-1', 'payment.completed', 20, {
        ...paid,
        action: 'retried',
        service: 'billing',
        attempt: 1,
        reason: 'S3 down; try #2\nlater',
      }),
      rec('o-1', 'payment.completed', 25, { ...paid, action: 'handled', service: 'inventory' }),
      rec('o-1', 'payment.completed', 26, {
        ...paid,
        action: 'duplicate-skipped',
        service: 'inventory',
      }),
      rec('o-1', 'ship.order', 27, { ...ship, action: 'sent', service: 'inventory' }),
      rec('o-1', 'ship.order', 40, {
        ...ship,
        action: 'dead-lettered',
        service: 'shipping',
        reason: 'EDA_DECODE: bad body',
      }),
      rec('o-1', 'invoice.issued', 50, { action: 'published', service: 'billing' }),
    ];
    expect(sequenceDiagram(timeline)).toBe(
      [
        'sequenceDiagram',
        '  participant s1 as payments',
        '  participant s2 as billing',
        '  participant s3 as inventory',
        '  participant s4 as shipping',
        '  s1--)s2: payment.completed (attempt 1 failed)',
        '  Note over s2: retry: S3 down try 2 later',
        '  s1->>s3: payment.completed',
        '  s1--)s3: payment.completed (duplicate-skipped)',
        '  s1->>s2: payment.completed',
        '  s3-xs4: ship.order (dead-lettered)',
        '  Note over s4: dead letter: EDA_DECODE: bad body',
        '  Note over s2: published invoice.issued, no consumer seen',
      ].join('\n'),
    );
  });

  it('draws an empty flow as a diagram with no lifelines', () => {
    expect(sequenceDiagram([])).toBe('sequenceDiagram');
  });
});
