// Flows as text for a terminal: one line per flow, and one flow's timeline with the reason of
// every retry and dead letter, the same facts the web page will draw.
import type { AuditRecord } from './audit-record.js';
import { compareRecords, type FlowSummary } from './flow-summary.js';

const iso = (at: number | undefined) => (at === undefined ? '-' : new Date(at).toISOString());

/** What a stuck flow waits for, from its first passed deadline: the step and the service to act. */
export function waitingFor(summary: FlowSummary): string {
  const [first] = summary.passed;
  if (!first) return '';
  return first.step
    ? `${first.step.type}${first.step.service ? ` by ${first.step.service}` : ''}`
    : `ends ${first.missing.join(', ')}`;
}

const since = (f: FlowSummary) =>
  f.passed[0] ? `  waiting for ${waitingFor(f)} since ${iso(f.passed[0].dueAt)}` : '';

/** One line per flow: state, workflow, correlation id, start, records, what a stuck one waits for. */
export function flowsText(flows: readonly FlowSummary[]): string {
  if (!flows.length) return 'no flows';
  return flows
    .map(
      (f) =>
        `${f.state.padEnd(9)} ${(f.workflow ?? '-').padEnd(12)} ${f.correlationId}  started ${iso(
          f.startedAt,
        )}  ${f.records} records${since(f)}`,
    )
    .join('\n');
}

/** One flow: its summary, then each record at its offset from the first. */
export function flowText(summary: FlowSummary, timeline: readonly AuditRecord[]): string {
  const records = [...timeline].sort(compareRecords);
  const start = records[0]?.at ?? 0;
  const lines = records.map((r) => {
    const offset = `+${r.at - start}ms`.padStart(9);
    const where = r.subscription ? ` (${r.subscription}, attempt ${r.attempt ?? 1})` : '';
    const why = r.reason ? `: ${r.reason}` : '';
    return `${offset}  ${r.service.padEnd(14)} ${r.action.padEnd(17)} ${r.type}${where}${why}`;
  });
  return [flowsText([summary]), ...lines].join('\n');
}
