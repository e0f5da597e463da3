// The in-memory monitor store: for tests, demos and a monitor embedded in one process. Every
// method runs without an await inside, so each call is atomic; nothing survives the process.
import type { AuditRecord } from './audit-record.js';
import { compareRecords, type DeriveFlow, type FlowSummary } from './flow-summary.js';
import type { FlowChange, MonitorStore } from './monitor-store.js';

/** Creates an empty in-memory monitor store. */
export function createInMemoryMonitorStore(): MonitorStore {
  const ids = new Set<string>();
  const timelines = new Map<string, AuditRecord[]>();
  const summaries = new Map<string, FlowSummary>();

  const rederive = (correlationId: string, derive: DeriveFlow): FlowChange => {
    const previous = summaries.get(correlationId);
    const timeline = timelines.get(correlationId) ?? [];
    const next = derive({ correlationId, timeline, previous });
    summaries.set(correlationId, next);
    return { previous, next };
  };

  return {
    capabilities: { persistent: false },
    async ingest(records, derive) {
      const touched = new Set<string>();
      let stored = 0;
      for (const record of records) {
        if (ids.has(record.id)) continue;
        ids.add(record.id);
        stored += 1;
        const timeline = timelines.get(record.correlationId) ?? [];
        timeline.push(record);
        timelines.set(record.correlationId, timeline);
        touched.add(record.correlationId);
      }
      for (const correlationId of touched) {
        timelines.get(correlationId)!.sort(compareRecords);
        rederive(correlationId, derive);
      }
      return stored;
    },
    async update(correlationIds, derive) {
      return correlationIds
        .filter((correlationId) => summaries.has(correlationId))
        .map((correlationId) => rederive(correlationId, derive));
    },
    async timeline(correlationId) {
      return [...(timelines.get(correlationId) ?? [])];
    },
    async summary(correlationId) {
      return summaries.get(correlationId);
    },
    async flows({ state, workflow, limit = 100 } = {}) {
      return [...summaries.values()]
        .filter(
          (s) =>
            (state === undefined || s.state === state) &&
            (workflow === undefined || s.workflow === workflow),
        )
        .sort((a, b) => b.lastAt - a.lastAt || (a.correlationId < b.correlationId ? -1 : 1))
        .slice(0, limit);
    },
    async due(now, limit) {
      return [...summaries.values()]
        .filter((s) => s.dueAt !== undefined && s.dueAt <= now)
        .sort((a, b) => a.dueAt! - b.dueAt!)
        .slice(0, limit)
        .map((s) => s.correlationId);
    },
    async purge({ before, limit }) {
      let purged = 0;
      for (const summary of summaries.values()) {
        if (purged >= limit) break;
        if (!isExpired(summary, before)) continue;
        summaries.delete(summary.correlationId);
        for (const record of timelines.get(summary.correlationId) ?? []) ids.delete(record.id);
        timelines.delete(summary.correlationId);
        purged += 1;
      }
      return purged;
    },
  };
}

/** True for a flow that retention removes: completed, or unmatched and idle, before `before`. */
export function isExpired(summary: FlowSummary, before: number): boolean {
  if (summary.state === 'completed') return summary.endedAt! < before;
  return summary.state === 'unmatched' && summary.lastAt < before;
}
