// The operator's command line on a store: stuck flows with the step they wait for, one flow's
// timeline and diagram, and usage errors that say what was wrong.
import { describe, expect, it } from 'vitest';
import { createInMemoryMonitorStore, createWorkflowMonitor, runMonitorCli } from '../src/index.js';
import { order, rec } from './records.js';

async function storeWithFlows() {
  const store = createInMemoryMonitorStore();
  const monitor = createWorkflowMonitor({ store, workflows: [order] });
  await monitor.ingest([
    rec('late-1', 'order.placed', 1_000, { messageId: 'm-late' }),
    rec('done-1', 'order.placed', 1_000, { messageId: 'm-done' }),
    rec('done-1', 'order.placed', 1_010, {
      messageId: 'm-done',
      action: 'retried',
      service: 'shipping',
      subscription: 'shipping',
      attempt: 1,
      reason: 'EDA_HANDLER: label printer offline',
    }),
    rec('done-1', 'order.placed', 1_020, {
      messageId: 'm-done',
      action: 'handled',
      service: 'shipping',
      subscription: 'shipping',
      attempt: 2,
    }),
    rec('done-1', 'order.shipped', 1_030, { service: 'shipping' }),
  ]);
  await monitor.evaluate(2_500); // past late-1's 1 s step deadline
  return store;
}

async function run(argv: string[]) {
  const store = await storeWithFlows();
  const printed: string[] = [];
  const code = await runMonitorCli(argv, store, (text) => printed.push(text));
  return { code, text: printed.join('\n') };
}

describe('eda-monitor', () => {
  it('stuck: lists flows past a deadline with the step and service they wait for', async () => {
    const { code, text } = await run(['stuck']);
    expect(code).toBe(0);
    expect(text).toMatch(
      /^stuck +order +late-1 .* 1 records {2}waiting for order\.placed by shipping since 1970-01-01T00:00:02\.000Z$/,
    );
    expect(text).not.toContain('done-1');
  });

  it('flows --state: filters by state', async () => {
    expect((await run(['flows', '--state', 'completed'])).text).toMatch(
      /^completed +order +done-1 /,
    );
    expect((await run(['flows', '--state', 'failed'])).text).toBe('no flows');
  });

  it('show: the timeline with offsets, subscriptions, attempts and reasons; --mermaid the diagram', async () => {
    const { code, text } = await run(['show', 'done-1']);
    expect(code).toBe(0);
    expect(text.split('\n').slice(1)).toEqual([
      '     +0ms  orders         published         order.placed',
      '    +10ms  shipping       retried           order.placed (shipping, attempt 1): EDA_HANDLER: label printer offline',
      '    +20ms  shipping       handled           order.placed (shipping, attempt 2)',
      '    +30ms  shipping       published         order.shipped',
    ]);
    const mermaid = await run(['show', 'done-1', '--mermaid']);
    expect(mermaid.text.split('\n')[0]).toBe('sequenceDiagram');
    expect(mermaid.text).toContain('s1->>s2: order.placed');
  });

  it('show of an unknown flow exits 1; usage errors exit 2 and say what was wrong', async () => {
    expect(await run(['show', 'nope'])).toEqual({
      code: 1,
      text: 'no flow nope (purged, never seen, or another schema)',
    });
    const bad = await run(['flows', '--state', 'sleeping']);
    expect(bad.code).toBe(2);
    expect(bad.text).toMatch(/^eda-monitor: --state is sleeping: use one of unmatched, running/);
    expect((await run(['flows', '--limit', '0'])).text).toMatch(/--limit is 0: give a positive/);
    expect((await run(['show'])).text).toMatch(/show needs a correlation id/);
    expect((await run(['launch'])).code).toBe(2);
    expect((await run(['flows', '--colour'])).text).toMatch(
      /^eda-monitor: Unknown option '--colour'/,
    );
    expect((await run([])).code).toBe(2);
    expect(await run(['help'])).toMatchObject({
      code: 0,
      text: expect.stringMatching(/^usage: eda-monitor/),
    });
  });
});
