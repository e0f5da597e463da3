// Derives a flow's state from its records, pure and order-free: the same records give the same
// summary in whatever order they arrived. Deadlines are noticed only when a time is given
// (`evaluate`); ingesting carries the noticed ones over.
import type { AuditRecord } from './audit-record.js';
import type {
  ExpectedStep,
  FlowInput,
  FlowState,
  FlowSummary,
  PassedDeadline,
} from './flow-summary.js';
import type { WorkflowCatalog, WorkflowDefinition } from './workflow-definition.js';

/** A deadline of a workflow, for one flow. */
interface Deadline {
  readonly key: string;
  readonly dueAt: number;
  readonly step: ExpectedStep | undefined;
  readonly reached: boolean;
}

/** What an operator did to a dead letter: it says nothing about how far the flow got. */
const OPERATOR_ACTIONS: ReadonlySet<string> = new Set(['redriven', 'discarded']);

/** Earliest time a record of `type` was seen (any service action), or handled by `service` when given. */
function reachedAt(timeline: readonly AuditRecord[], type: string, service?: string) {
  let at: number | undefined;
  for (const record of timeline) {
    if (record.type !== type || OPERATOR_ACTIONS.has(record.action)) continue;
    if (service !== undefined && (record.action !== 'handled' || record.service !== service))
      continue;
    if (at === undefined || record.at < at) at = record.at;
  }
  return at;
}

/** When the flow ended by its `endsWith`, or undefined. */
function completedAt(timeline: readonly AuditRecord[], workflow: WorkflowDefinition) {
  const ends = 'all' in workflow.endsWith ? workflow.endsWith.all : workflow.endsWith.any;
  const times = ends.map((type) => reachedAt(timeline, type));
  const seen = times.filter((at) => at !== undefined);
  if ('all' in workflow.endsWith)
    return seen.length === ends.length ? Math.max(...seen) : undefined;
  return seen.length ? Math.min(...seen) : undefined;
}

function missingEnds(timeline: readonly AuditRecord[], workflow: WorkflowDefinition): string[] {
  const ends = 'all' in workflow.endsWith ? workflow.endsWith.all : workflow.endsWith.any;
  return ends.filter((type) => reachedAt(timeline, type) === undefined);
}

/**
 * When the flow failed: the latest dead letter whose subscription has not handled that message
 * since (a redrive that succeeded clears it), or undefined.
 */
function failedAt(timeline: readonly AuditRecord[]) {
  let at: number | undefined;
  for (const dead of timeline) {
    if (dead.action !== 'dead-lettered') continue;
    const redriven = timeline.some(
      (r) =>
        r.action === 'handled' &&
        r.messageId === dead.messageId &&
        r.subscription === dead.subscription &&
        r.at >= dead.at,
    );
    if (!redriven && (at === undefined || dead.at > at)) at = dead.at;
  }
  return at;
}

function deadlinesOf(
  timeline: readonly AuditRecord[],
  workflow: WorkflowDefinition,
  startedAt: number,
  completed: boolean,
): Deadline[] {
  const steps = workflow.steps.map((step, index) => ({
    key: `step:${index}`,
    dueAt: startedAt + step.deadlineMs,
    step: { index, type: step.type, service: step.service },
    reached: reachedAt(timeline, step.type, step.service) !== undefined,
  }));
  const firstOpen = steps.find((s) => !s.reached)?.step;
  return [
    {
      key: 'workflow',
      dueAt: startedAt + workflow.deadlineMs,
      step: firstOpen,
      reached: completed,
    },
    ...steps,
  ];
}

/** The summary of a flow no declared workflow starts (yet). */
function unmatched({ correlationId, timeline }: FlowInput, lastAt: number): FlowSummary {
  return {
    correlationId,
    workflow: undefined,
    state: 'unmatched',
    startedAt: undefined,
    lastAt,
    endedAt: undefined,
    dueAt: undefined,
    passed: [],
    records: timeline.length,
  };
}

/**
 * Derives a flow's summary from its records. With `now`, deadlines due by then that are not
 * reached and not noticed before are added to `passed` (each once: the caller announces the
 * ones it added); without it, the noticed ones of `previous` are carried over.
 */
export function deriveFlow(catalog: WorkflowCatalog, input: FlowInput, now?: number): FlowSummary {
  const { correlationId, timeline, previous } = input;
  const lastAt = timeline.reduce((latest, r) => Math.max(latest, r.at), 0);
  const start = timeline.find((r) => catalog.has(r.type));
  const workflow = start && catalog.get(start.type);
  if (!workflow) return unmatched(input, lastAt);
  const startedAt = reachedAt(timeline, workflow.startsWith)!;
  const completed = completedAt(timeline, workflow);
  const failed = completed === undefined ? failedAt(timeline) : undefined;
  const deadlines = deadlinesOf(timeline, workflow, startedAt, completed !== undefined);
  const passed = [...(previous?.workflow === workflow.name ? previous.passed : [])];
  const open = completed === undefined && failed === undefined;
  if (open && now !== undefined) {
    const missing = missingEnds(timeline, workflow);
    for (const deadline of deadlines) {
      if (deadline.reached || deadline.dueAt > now || passed.some((p) => p.key === deadline.key))
        continue;
      const { key, dueAt, step } = deadline;
      passed.push({ key, dueAt, noticedAt: now, step, missing });
    }
  }
  const stillMissed = passed.some((p) => !deadlines.find((d) => d.key === p.key)?.reached);
  const state: FlowState =
    completed !== undefined
      ? 'completed'
      : failed !== undefined
        ? 'failed'
        : stillMissed
          ? 'stuck'
          : 'running';
  const upcoming = deadlines
    .filter((d) => !d.reached && !passed.some((p) => p.key === d.key))
    .map((d) => d.dueAt);
  return {
    correlationId,
    workflow: workflow.name,
    state,
    startedAt,
    lastAt,
    endedAt: completed ?? failed,
    dueAt: open && upcoming.length ? Math.min(...upcoming) : undefined,
    passed,
    records: timeline.length,
  };
}

/** The deadlines `next` noticed that `previous` had not: what to announce. */
export function newlyPassed(
  previous: FlowSummary | undefined,
  next: FlowSummary,
): PassedDeadline[] {
  const before = new Set(previous?.passed.map((p) => p.key));
  return next.passed.filter((p) => !before.has(p.key));
}
