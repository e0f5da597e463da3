import { describe, expect, it } from 'vitest';
import {
  type AuditRecord,
  catalogOf,
  defineWorkflow,
  deriveFlow,
  type FlowSummary,
  newlyPassed,
} from '../src/index.js';
import { rec } from './records.js';

const order = defineWorkflow({
  name: 'order',
  startsWith: 'order.placed',
  endsWith: { all: ['order.shipped', 'invoice.sent'] },
  steps: [
    { type: 'payment.completed', deadlineMs: 1000 },
    { type: 'payment.completed', service: 'shipping', deadlineMs: 2000 },
  ],
  deadlineMs: 5000,
});
const refund = defineWorkflow({
  name: 'refund',
  startsWith: 'refund.requested',
  endsWith: { any: ['refund.paid', 'refund.refused'] },
  deadlineMs: 1000,
});
const catalog = catalogOf([order, refund]);
const derive = (timeline: AuditRecord[], previous?: FlowSummary, now?: number) =>
  deriveFlow(catalog, { correlationId: 'c', timeline, previous }, now);

const placed = rec('c', 'order.placed', 10_000);
const paid = rec('c', 'payment.completed', 10_500, { service: 'payments' });
const paidHandled = rec('c', 'payment.completed', 10_600, {
  action: 'handled',
  service: 'shipping',
  subscription: 'shipping',
});

describe('deriveFlow', () => {
  it('a flow no workflow starts is unmatched, with nothing due', () => {
    expect(derive([rec('c', 'payment.completed', 5)])).toMatchObject({
      state: 'unmatched',
      workflow: undefined,
      dueAt: undefined,
      records: 1,
      lastAt: 5,
    });
  });

  it('a started flow runs, due at its first deadline', () => {
    expect(derive([placed])).toMatchObject({
      workflow: 'order',
      state: 'running',
      startedAt: 10_000,
      dueAt: 11_000,
      endedAt: undefined,
    });
  });

  it('reached steps move the next deadline; all end types complete it, whatever the arrival order', () => {
    expect(derive([placed, paid]).dueAt, 'step 1 waits for shipping to handle it').toBe(12_000);
    expect(derive([placed, paid, paidHandled]).dueAt, 'then the whole deadline').toBe(15_000);
    const shipped = rec('c', 'order.shipped', 11_000, { service: 'shipping' });
    const invoiced = rec('c', 'invoice.sent', 11_500, { action: 'relayed', service: 'billing' });
    expect(derive([placed, shipped]).state, 'one end of all').toBe('running');
    const done = derive([invoiced, shipped, placed]);
    expect(done).toMatchObject({ state: 'completed', endedAt: 11_500, dueAt: undefined });
    expect(derive([placed, shipped, invoiced])).toEqual(done);
  });

  it('any: one end type completes it', () => {
    const timeline = [
      rec('c', 'refund.requested', 100),
      rec('c', 'refund.refused', 300, { action: 'handled', service: 'x' }),
    ];
    expect(derive(timeline)).toMatchObject({
      workflow: 'refund',
      state: 'completed',
      endedAt: 300,
    });
  });

  it('notices a passed step deadline once, naming the step and the service expected to act', () => {
    const before = derive([placed, paid]);
    expect(derive([placed, paid], before, 11_999).passed, 'not yet').toEqual([]);
    const stuck = derive([placed, paid], before, 12_000);
    expect(stuck.state).toBe('stuck');
    expect(stuck.passed).toEqual([
      {
        key: 'step:1',
        dueAt: 12_000,
        noticedAt: 12_000,
        step: { index: 1, type: 'payment.completed', service: 'shipping' },
        missing: ['order.shipped', 'invoice.sent'],
      },
    ]);
    expect(newlyPassed(before, stuck)).toEqual(stuck.passed);
    expect(stuck.dueAt, 'next: the whole deadline').toBe(15_000);
    const later = derive([placed, paid], stuck, 13_000);
    expect(newlyPassed(stuck, later), 'noticed once').toEqual([]);
    const ingested = derive([placed, paid, rec('c', 'x', 12_100)], stuck);
    expect(ingested.passed, 'ingesting keeps what was noticed').toEqual(stuck.passed);
    const resumed = derive([placed, paid, paidHandled], stuck);
    expect(resumed.state, 'the step reached late: running again').toBe('running');
  });

  it('the whole deadline names the first step not reached', () => {
    const stuck = derive([placed, paid, paidHandled], undefined, 15_000);
    expect(stuck.passed.map((p) => [p.key, p.step?.index])).toEqual([['workflow', undefined]]);
    const early = derive([placed], undefined, 20_000);
    expect(early.passed.map((p) => [p.key, p.step?.index])).toEqual([
      ['workflow', 0],
      ['step:0', 0],
      ['step:1', 1],
    ]);
    expect(early.dueAt).toBeUndefined();
  });

  it('a dead letter fails the flow until that subscription handles the message again', () => {
    const dead = rec('c', 'payment.completed', 10_700, {
      action: 'dead-lettered',
      service: 'shipping',
      subscription: 'shipping',
      messageId: paid.messageId,
      reason: 'EDA_HANDLER: boom',
    });
    const failed = derive([placed, paid, dead], undefined, 20_000);
    expect(failed).toMatchObject({
      state: 'failed',
      endedAt: 10_700,
      dueAt: undefined,
      passed: [],
    });
    const redriven = rec('c', 'payment.completed', 30_000, {
      action: 'handled',
      service: 'shipping',
      subscription: 'shipping',
      messageId: paid.messageId,
    });
    expect(derive([placed, paid, dead, redriven]).state).toBe('running');
  });
});

describe('defineWorkflow', () => {
  it.each([
    [{ name: '' }, /needs a name/],
    [{ startsWith: '' }, /startsWith must be a message type/],
    [{ endsWith: { all: [] } }, /endsWith needs/],
    [{ deadlineMs: 0 }, /deadlineMs is 0/],
    [{ steps: [{ type: 'a', deadlineMs: 1.5 }] }, /step 0 \(a\) deadlineMs is 1.5/],
    [{ steps: [{ type: 'a', service: '', deadlineMs: 1 }] }, /step 0 \(a\) service/],
  ])('refuses %j', (change, message) => {
    expect(() => defineWorkflow({ ...refund, ...change } as never)).toThrow(message);
  });

  it('two workflows may not share a name or a start type', () => {
    expect(() => catalogOf([order, { ...refund, name: 'order' }])).toThrow(/declared twice/);
    expect(() => catalogOf([order, { ...refund, startsWith: 'order.placed' }])).toThrow(
      /like workflow "order"/,
    );
  });
});
