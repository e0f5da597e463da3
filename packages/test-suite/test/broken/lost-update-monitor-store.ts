// Broken on purpose: ingest reads each flow's records and summary, awaits (a network round
// trip), then writes the records and a summary derived from what it read plus its own records:
// read-modify-write without a lock. Two writers on one flow each overwrite the other's update.
import type { AuditRecord, MonitorStore } from '@eda/workflow-monitor';

const roundTrip = () => new Promise<void>((resolve) => setImmediate(resolve));

export function lostUpdateMonitorStore(inner: MonitorStore): MonitorStore {
  return {
    ...inner,
    async ingest(records, derive) {
      const flows = [...new Set(records.map((r) => r.correlationId))];
      const read = new Map(
        await Promise.all(
          flows.map(
            async (id) =>
              [
                id,
                { timeline: await inner.timeline(id), previous: await inner.summary(id) },
              ] as const,
          ),
        ),
      );
      await roundTrip();
      return inner.ingest(records, ({ correlationId, timeline }) => {
        const before = read.get(correlationId)!;
        const known = new Set(before.timeline.map((r) => r.id));
        // What it read, plus its own records: blind to anything written since the read.
        const own = timeline.filter((r: AuditRecord) => !known.has(r.id) && records.includes(r));
        return derive({
          correlationId,
          timeline: [...before.timeline, ...own],
          previous: before.previous,
        });
      });
    },
  };
}
