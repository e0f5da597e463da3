// Monitor store cases on flows: summaries follow the records and queries see them, a deadline
// is noticed once (across writers and restarts), and two writers lose no update.
import type { FlowSummary, MonitorStore } from '@eda/workflow-monitor';
import { expect } from 'vitest';
import { contractDerive, DEADLINE_MS, recordOf, WORKFLOW } from './contract-flows.js';
import type { MonitorStoreCase } from './monitor-store-setup.js';

const derive = contractDerive();
const ids = (flows: readonly FlowSummary[]) => flows.map((f) => f.correlationId);

/** running → stuck → completed, each visible to `flows`, `due` and `summary`. */
export const stateTransitionsCase: MonitorStoreCase = {
  name: 'state transitions: running, then stuck once its deadline is noticed, then completed; flows() filters by state and workflow, due() lists the flow from its deadline until the deadline is noticed',
  requires: [],
  async run({ store, name }) {
    const flow = name('flow');
    const start = 1_000_000;
    await store.ingest([recordOf(name('start'), flow, 'start', start)], derive);
    expect((await store.summary(flow))?.state).toBe('running');
    expect(ids(await store.flows({ state: 'running', workflow: WORKFLOW }))).toContain(flow);
    expect(
      await store.due(start + DEADLINE_MS - 1, 10),
      'not due before its deadline',
    ).not.toContain(flow);
    expect(await store.due(start + DEADLINE_MS, 10), 'due at its deadline').toContain(flow);

    const [change, ...more] = await store.update([flow], contractDerive(start + DEADLINE_MS));
    expect(more).toEqual([]);
    expect(change?.previous?.state, 'update gives the summary before').toBe('running');
    expect(change?.next.state, 'and after').toBe('stuck');
    expect(await store.summary(flow)).toEqual(change?.next);
    expect(ids(await store.flows({ state: 'stuck' }))).toContain(flow);
    expect(ids(await store.flows({ state: 'running' }))).not.toContain(flow);
    expect(
      await store.due(start + 10 * DEADLINE_MS, 10),
      'no longer due once noticed',
    ).not.toContain(flow);

    await store.ingest([recordOf(name('end'), flow, 'end', start + 2 * DEADLINE_MS)], derive);
    const completed = await store.summary(flow);
    expect(completed?.state).toBe('completed');
    expect(completed?.passed, 'the noticed deadline is kept').toHaveLength(1);
    expect(ids(await store.flows({ state: 'completed', workflow: WORKFLOW }))).toContain(flow);
    expect(ids(await store.flows({ workflow: name('another-workflow') }))).toEqual([]);
    expect(await store.update([name('unknown')], derive), 'an unknown flow is skipped').toEqual([]);
  },
};

/** Two flows; `flows` orders by last activity and honours `limit`. */
export const flowsOrderCase: MonitorStoreCase = {
  name: 'flows(): most recently active first, at most limit',
  requires: [],
  async run({ store, name }) {
    const older = name('older');
    const newer = name('newer');
    const base = 1000;
    await store.ingest(
      [
        recordOf(name('n'), newer, 'start', base + 2),
        recordOf(name('o'), older, 'start', base + 1),
      ],
      derive,
    );
    expect(ids(await store.flows({ limit: 2 }))).toEqual([newer, older]);
    expect(ids(await store.flows({ limit: 1 }))).toEqual([newer]);
  },
};

/** Updates of one due flow from two writers at once: the deadline is noticed by exactly one. */
async function noticeFromTwoWriters(
  first: MonitorStore,
  second: MonitorStore,
  flow: string,
  now: number,
) {
  const changes = (
    await Promise.all([
      first.update([flow], contractDerive(now)),
      second.update([flow], contractDerive(now)),
    ])
  ).flat();
  return changes.filter((c) => !c.previous?.passed.length && c.next.passed.length).length;
}

export const stuckOnceCase: MonitorStoreCase = {
  name: 'stuck once: of two concurrent updates noticing the same deadline, exactly one sees it unnoticed before; later updates see it noticed',
  requires: [],
  async run({ store, environment, name }) {
    const other = await environment.open();
    const flows = Array.from({ length: 10 }, (_, i) => name(`flow-${i}`));
    await store.ingest(
      flows.map((flow, i) => recordOf(name(`start-${i}`), flow, 'start', 1000)),
      derive,
    );
    const noticed = await Promise.all(
      flows.map((flow) => noticeFromTwoWriters(store, other, flow, 1000 + DEADLINE_MS)),
    );
    expect(noticed, 'per flow, how many updates noticed the deadline first').toEqual(
      flows.map(() => 1),
    );
    const [again] = await store.update([flows[0]!], contractDerive(1000 + 5 * DEADLINE_MS));
    expect(again?.previous?.passed, 'a later update sees the deadline noticed').toHaveLength(1);
    expect(again?.next.passed).toEqual(again?.previous?.passed);
  },
};

export const stuckOnceAfterRestartCase: MonitorStoreCase = {
  name: 'stuck once after a restart: a new store on the same data sees the noticed deadline and the summaries as they were',
  requires: ['persistent'],
  async run({ store, environment, name }) {
    const flow = name('flow');
    await store.ingest([recordOf(name('start'), flow, 'start', 1000)], derive);
    await store.update([flow], contractDerive(1000 + DEADLINE_MS));
    const before = await store.summary(flow);
    const restarted = await environment.open();
    expect(await restarted.summary(flow), 'the summary after the restart').toEqual(before);
    expect(await restarted.due(1000 + 5 * DEADLINE_MS, 100)).not.toContain(flow);
    const [change] = await restarted.update([flow], contractDerive(1000 + 5 * DEADLINE_MS));
    expect(change?.previous?.passed, 'the restarted store sees the deadline noticed').toHaveLength(
      1,
    );
    expect(change?.next.passed).toHaveLength(1);
  },
};

export const concurrentWritersCase: MonitorStoreCase = {
  name: 'concurrent writers: two stores ingesting records of the same flows at once lose no update (every flow derived from all its records)',
  requires: [],
  async run({ store, environment, name }) {
    const other = await environment.open();
    const flows = Array.from({ length: 20 }, (_, i) => name(`flow-${i}`));
    // One record per call, the two writers interleaved, so that calls overlap on each flow.
    await Promise.all(
      flows.flatMap((flow, i) => [
        store.ingest([recordOf(name(`start-${i}`), flow, 'start', 1000)], derive),
        other.ingest([recordOf(name(`end-${i}`), flow, 'end', 1200)], derive),
        store.ingest([recordOf(name(`step-${i}`), flow, 'step', 1100)], derive),
      ]),
    );
    const summaries = await Promise.all(flows.map((flow) => store.summary(flow)));
    const lost = summaries.filter((s) => s?.records !== 3 || s.state !== 'completed');
    expect(
      lost.map((s) => `${s?.correlationId}: ${s?.records} records, ${s?.state}`),
      'flows whose summary missed a record written concurrently (lost updates)',
    ).toEqual([]);
  },
};
