// Monitor store cases on records: what goes in comes back in timeline order, a record is
// stored once however often it arrives, and retention deletes only what it may, in bounds.
import type { AuditRecord } from '@eda/workflow-monitor';
import { expect } from 'vitest';
import { contractDerive, DEADLINE_MS, recordOf } from './contract-flows.js';
import type { MonitorStoreCase } from './monitor-store-setup.js';

const derive = contractDerive();

/** Records come back whole, in timeline order (time, then id in code-unit order). */
export const roundTripCase: MonitorStoreCase = {
  name: 'ingest round trip: every field comes back, in time order then by record id, and the flow is derived from all of them',
  requires: [],
  async run({ store, name }) {
    const flow = name('flow');
    const other = name('other');
    // Same time: "B..." sorts before "a..." by code unit (not by a locale's collation).
    const late = recordOf(name('c'), flow, 'end', 3000);
    const tieLower = recordOf(name('a'), flow, 'step', 2000);
    const tieUpper = recordOf(name('B'), flow, 'step', 2000);
    const first = recordOf(name('z'), flow, 'start', 1000);
    const elsewhere = recordOf(name('o'), other, 'start', 1500);
    const stored = await store.ingest([late, tieLower, elsewhere, tieUpper, first], derive);
    expect(stored, 'ingest returns how many records were new').toBe(5);
    expect(await store.timeline(flow), 'the timeline of the flow').toEqual([
      first,
      tieUpper,
      tieLower,
      late,
    ]);
    expect(await store.timeline(other)).toEqual([elsewhere]);
    expect(await store.summary(flow), 'the summary derived from all four records').toEqual(
      derive({
        correlationId: flow,
        timeline: [first, tieUpper, tieLower, late],
        previous: undefined,
      }),
    );
    expect(await store.timeline(name('unknown'))).toEqual([]);
    expect(await store.summary(name('unknown'))).toBeUndefined();
  },
};

/** A record is stored once, whether it repeats within a call or across calls. */
export const dedupeCase: MonitorStoreCase = {
  name: 'dedupe: a record ingested again, or twice in one call, is stored once and changes nothing',
  requires: [],
  async run({ store, name }) {
    const flow = name('flow');
    const start = recordOf(name('start'), flow, 'start', 1000);
    const step = recordOf(name('step'), flow, 'step', 1100);
    expect(await store.ingest([start, step], derive)).toBe(2);
    const before = await store.summary(flow);
    expect(await store.ingest([step, start, step], derive), 'repeats are not new').toBe(0);
    expect(await store.timeline(flow)).toEqual([start, step]);
    expect(await store.summary(flow), 'the summary after only repeats').toEqual(before);
    const end = recordOf(name('end'), flow, 'end', 1200);
    expect(await store.ingest([end, end], derive), 'a record twice in one call').toBe(1);
    expect(await store.timeline(flow)).toEqual([start, step, end]);
    expect((await store.summary(flow))?.records).toBe(3);
  },
};

/** Retention deletes completed and idle unmatched flows before the cut-off, `limit` per call. */
export const retentionCase: MonitorStoreCase = {
  name: 'retention: purge deletes completed (and idle unmatched) flows older than the cut-off, with their records, at most limit per call; running, stuck and recent flows stay',
  requires: [],
  async run({ store, name }) {
    const ids = {
      oldDone: [name('old-done-1'), name('old-done-2'), name('old-done-3')],
      oldUnmatched: name('old-unmatched'),
      recentDone: name('recent-done'),
      running: name('running'),
      stuck: name('stuck'),
    };
    const records: AuditRecord[] = [
      ...ids.oldDone.flatMap((flow) => [
        recordOf(`${flow}-s`, flow, 'start', 1000),
        recordOf(`${flow}-e`, flow, 'end', 2000),
      ]),
      recordOf(`${ids.oldUnmatched}-x`, ids.oldUnmatched, 'step', 1000),
      recordOf(`${ids.recentDone}-s`, ids.recentDone, 'start', 1000),
      recordOf(`${ids.recentDone}-e`, ids.recentDone, 'end', 9000),
      recordOf(`${ids.running}-s`, ids.running, 'start', 1000),
      recordOf(`${ids.stuck}-s`, ids.stuck, 'start', 1000),
    ];
    await store.ingest(records, derive);
    await store.update([ids.stuck], contractDerive(1000 + DEADLINE_MS));
    expect((await store.summary(ids.stuck))?.state).toBe('stuck');

    const purged: number[] = [];
    for (let round = 0; round < 4; round++)
      purged.push(await store.purge({ before: 5000, limit: 2 }));
    expect(purged, 'flows purged per call of limit 2 (4 expired flows)').toEqual([2, 2, 0, 0]);
    for (const gone of [...ids.oldDone, ids.oldUnmatched]) {
      expect(await store.summary(gone), `${gone} is purged`).toBeUndefined();
      expect(await store.timeline(gone), `the records of ${gone} are purged`).toEqual([]);
    }
    for (const kept of [ids.recentDone, ids.running, ids.stuck]) {
      expect(await store.summary(kept), `${kept} stays`).toBeDefined();
      expect((await store.timeline(kept)).length, `the records of ${kept} stay`).toBeGreaterThan(0);
    }
  },
};
