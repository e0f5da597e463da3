import { type BusEvent, EdaError, type EnvelopeAttributes } from '@eda/core';
import { describe, expect, it } from 'vitest';
import { type AuditRecord, createAuditReporter } from '../src/index.js';
import { until } from './until.js';

const message = (id: string, kind: 'event' | 'command' = 'event'): EnvelopeAttributes => ({
  id,
  type: 'order.placed',
  source: 'orders',
  specversion: '1.0',
  kind,
  correlationid: 'flow-1',
  causationid: 'cause-1',
});
const published = (id: string, via: 'transport' | 'outbox' = 'transport'): BusEvent => ({
  kind: 'published',
  service: 'orders',
  message: message(id),
  via,
});

function counter() {
  let n = 0;
  return () => `id-${++n}`;
}

describe('audit reporter', () => {
  it("names the service that acted: the bus event's, and for a relayed message the service that wrote it", async () => {
    const received: AuditRecord[] = [];
    const reporter = createAuditReporter({
      service: 'relay',
      sink: async (records) => void received.push(...records),
      newId: counter(),
    });
    reporter.observe({ ...published('m1'), service: 'billing' });
    reporter.observeRelay([
      { attributes: { ...message('m2'), source: 'payments' }, body: new Uint8Array() },
      { attributes: { ...message('m3'), source: '' }, body: new Uint8Array() },
    ]);
    await reporter.flush();
    expect(received.map((r) => `${r.messageId} ${r.service}`)).toEqual([
      'm1 billing',
      'm2 payments',
      'm3 relay',
    ]);
  });

  it('turns bus events into records, and an outbox write into nothing until the relay reports it', async () => {
    const received: AuditRecord[] = [];
    const reporter = createAuditReporter({
      service: 'orders',
      sink: async (records) => void received.push(...records),
      clock: () => 5000,
      newId: counter(),
    });
    reporter.observe(published('m1'));
    reporter.observe(published('m2', 'outbox'));
    reporter.observe({
      kind: 'published',
      service: 'orders',
      message: message('m3', 'command'),
      via: 'transport',
    });
    reporter.observe({
      kind: 'consumed',
      service: 'orders',
      subscription: 'orders-sub',
      message: message('m4'),
      outcome: 'duplicate',
      attempt: 2,
      startedAt: 4990,
    });
    reporter.observe({
      kind: 'dead-lettered',
      service: 'orders',
      subscription: 'orders-sub',
      message: message('m5'),
      reason: {
        code: 'EDA_HANDLER',
        errorType: 'Error',
        message: 'boom',
        attempts: 3,
        subscription: 'orders-sub',
      },
    });
    reporter.observe({
      kind: 'retry',
      service: 'orders',
      subscription: 's',
      message: undefined,
      attempt: 1,
      delayMs: 1,
      reason: 'x',
      deferred: false,
    });
    reporter.observeRelay([
      {
        attributes: { ...message('m2'), time: new Date(4000).toISOString() },
        body: new Uint8Array(),
      },
    ]);
    await reporter.flush();
    expect(received.map((r) => `${r.action} ${r.messageId}`)).toEqual([
      'published m1',
      'sent m3',
      'duplicate-skipped m4',
      'dead-lettered m5',
      'relayed m2',
    ]);
    expect(received[0]).toEqual({
      id: 'id-1',
      action: 'published',
      service: 'orders',
      messageId: 'm1',
      type: 'order.placed',
      correlationId: 'flow-1',
      causationId: 'cause-1',
      at: 5000,
    });
    expect(received[2]).toMatchObject({
      subscription: 'orders-sub',
      attempt: 2,
      at: 4990,
      durationMs: 10,
    });
    expect(received[3]).toMatchObject({ attempt: 3, reason: 'EDA_HANDLER: boom' });
    // A relayed message stands at its write time; durationMs is its wait in the outbox.
    expect(received[4]).toMatchObject({ at: 4000, durationMs: 1000 });
  });

  it('keeps a batch until the sink resolved: a refused batch is sent again, records unchanged', async () => {
    const calls: string[][] = [];
    const errors: unknown[] = [];
    const reporter = createAuditReporter({
      service: 'orders',
      sink: async (records) => {
        calls.push(records.map((r) => r.id));
        if (calls.length <= 2) throw new Error('audit topic down');
      },
      initialBackoffMs: 1,
      onError: (error) => errors.push(error),
      newId: counter(),
    });
    reporter.observe(published('m1'));
    reporter.observe(published('m2'));
    await reporter.flush();
    expect(calls).toEqual([
      ['id-1', 'id-2'],
      ['id-1', 'id-2'],
      ['id-1', 'id-2'],
    ]);
    expect(errors).toHaveLength(2);
    expect(EdaError.isInstance(errors[0]) && (errors[0] as EdaError).code).toBe('EDA_UNAVAILABLE');
    expect(reporter.stats()).toEqual({ buffered: 0, sent: 2, dropped: 0, failures: 2 });
  });

  it('never waits for a slow sink: beyond maxBuffered it drops new records, counts them and says so once', async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const received: string[] = [];
    const errors: unknown[] = [];
    const reporter = createAuditReporter({
      service: 'orders',
      sink: async (records) => {
        await released;
        received.push(...records.map((r) => r.messageId));
      },
      maxBuffered: 3,
      batchSize: 2,
      onError: (error) => errors.push(error),
    });
    for (const id of ['m1', 'm2', 'm3', 'm4', 'm5']) reporter.observe(published(id));
    expect(reporter.stats()).toMatchObject({ buffered: 3, dropped: 2 });
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/3 records wait for the sink, so new records are dropped/);
    release();
    await reporter.flush();
    expect(received).toEqual(['m1', 'm2', 'm3']);
    expect(reporter.stats()).toEqual({ buffered: 0, sent: 3, dropped: 2, failures: 0 });
  });

  it('sends a partial batch after flushDelayMs without a flush call', async () => {
    const received: string[] = [];
    const reporter = createAuditReporter({
      service: 'orders',
      sink: async (records) => void received.push(...records.map((r) => r.messageId)),
      flushDelayMs: 5,
    });
    reporter.observe(published('m1'));
    await until(() => received.length === 1, 'the partial batch');
    expect(received).toEqual(['m1']);
  });

  it('close flushes; on a sink that never answers it gives up after timeoutMs and counts the rest dropped', async () => {
    const received: string[] = [];
    const healthy = createAuditReporter({
      service: 'orders',
      sink: async (records) => void received.push(...records.map((r) => r.messageId)),
    });
    healthy.observe(published('m1'));
    await healthy.close();
    expect(received).toEqual(['m1']);
    healthy.observe(published('m2'));
    expect(healthy.stats()).toMatchObject({ sent: 1, dropped: 1 });

    const hanging = createAuditReporter({
      service: 'orders',
      sink: () => new Promise(() => undefined),
    });
    hanging.observe(published('m1'));
    await hanging.close({ timeoutMs: 20 });
    expect(hanging.stats()).toMatchObject({ buffered: 0, sent: 0, dropped: 1 });
  });

  it('rejects bad options at once', () => {
    const sink = async () => undefined;
    expect(() => createAuditReporter({ service: '', sink })).toThrow(/name the service/);
    expect(() => createAuditReporter({ service: 's', sink, maxBuffered: 0 })).toThrow(
      /maxBuffered is 0/,
    );
  });
});
