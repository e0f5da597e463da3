// The monitor on PostgreSQL: a restarted monitor resumes from the tables and does not announce
// a deadline again; two monitors at once announce each deadline once and lose no record.
import { afterEach, describe, expect, it } from 'vitest';
import { createWorkflowMonitor, type WorkflowStuck } from '../src/index.js';
import { type MonitorDatabase, useMonitorDatabase } from './pg-helpers.js';
import { order, rec } from './records.js';

let db: MonitorDatabase | undefined;
afterEach(async () => {
  await db?.close();
  db = undefined;
});

function monitorOn(database: MonitorDatabase, stuck: WorkflowStuck[]) {
  return createWorkflowMonitor({
    store: database.open(),
    workflows: [order],
    onStuck: (s) => void stuck.push(s),
  });
}

describe('workflow monitor on PostgreSQL', () => {
  it('a restarted monitor resumes its flows and does not announce a deadline twice', async () => {
    db = await useMonitorDatabase();
    const stuck: WorkflowStuck[] = [];
    const first = monitorOn(db, stuck);
    await first.ingest([rec('r1', 'order.placed', 1000), rec('r2', 'order.placed', 1000)]);
    expect(await first.evaluate(2000)).toHaveLength(2);

    const restarted = monitorOn(db, stuck);
    expect(await restarted.evaluate(2500), 'noticed before the restart').toEqual([]);
    expect((await restarted.flows({ state: 'stuck' })).map((f) => f.correlationId).sort()).toEqual([
      'r1',
      'r2',
    ]);
    await restarted.ingest([
      rec('r1', 'order.placed', 1200, { action: 'handled', service: 'shipping' }),
      rec('r1', 'order.shipped', 1300, { service: 'shipping' }),
    ]);
    await restarted.evaluate(7000);
    expect(stuck.map((s) => `${s.correlationId} ${s.deadline.key}`)).toEqual([
      'r1 step:0',
      'r2 step:0',
      'r2 workflow',
    ]);
    expect((await restarted.flow('r1'))?.summary.state).toBe('completed');
    expect((await restarted.flow('r1'))?.timeline).toHaveLength(3);
  });

  it('two monitors ingesting and evaluating at once: every record counted, each deadline announced once', async () => {
    db = await useMonitorDatabase();
    const stuck: WorkflowStuck[] = [];
    const monitors = [monitorOn(db, stuck), monitorOn(db, stuck)];
    const flows = Array.from({ length: 30 }, (_, i) => `f${i}`);
    const starts = flows.map((flow) => rec(flow, 'order.placed', 1000));
    const handled = flows.map((flow) =>
      rec(flow, 'order.placed', 1100, { action: 'handled', service: 'billing' }),
    );
    // Each monitor gets every record (at-least-once delivery to both), in its own order.
    await Promise.all([
      ...starts.map((r, i) => monitors[i % 2]!.ingest([r, handled[i]!])),
      ...handled.map((r, i) => monitors[(i + 1) % 2]!.ingest([starts[i]!, r])),
    ]);
    await Promise.all([monitors[0]!.evaluate(2000), monitors[1]!.evaluate(2000)]);
    expect(stuck.map((s) => s.correlationId).sort()).toEqual([...flows].sort());
    const summaries = await monitors[0]!.flows({ limit: 100 });
    expect(summaries.map((s) => `${s.records} ${s.state}`)).toEqual(flows.map(() => '2 stuck'));
  });
});
