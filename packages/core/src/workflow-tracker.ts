// The workflow tracker: follows choreographed flows by correlation id, from bus events, so a
// flow that stopped half-way is visible. Feed it with `observers: [tracker.observe]`.
import { getOrCreate } from './get-or-create.js';
import type { BusEvent } from './observer.js';

/** One thing that happened in a flow. */
export interface WorkflowStep {
  /** When the step began (epoch ms): a handled message's is when its handling began. */
  readonly at: number;
  readonly service: string;
  readonly action:
    | 'published'
    | 'sent'
    | 'handled'
    | 'duplicate-skipped'
    | 'stale-skipped'
    | 'ignored'
    | 'retry'
    | 'dead-lettered'
    | 'lease-lost';
  readonly type: string;
  readonly messageId: string;
  /** Reason of a retry or dead-letter, or the subscription that handled the message. */
  readonly detail?: string;
}

/** A workflow to watch: it starts with one message type and is complete once every `endsWith` type was handled. */
export interface WorkflowDefinition {
  readonly name: string;
  readonly startsWith: string;
  readonly endsWith: readonly string[];
  /** A flow not complete this long after it started is reported as stuck. */
  readonly deadlineMs: number;
}

/** A flow that missed its deadline. */
export interface StuckWorkflow {
  readonly workflow: string;
  readonly correlationId: string;
  readonly startedAt: number;
  readonly missing: readonly string[];
}

/** Follows flows by correlation id; made by `createWorkflowTracker`. */
export interface WorkflowTracker {
  /** The observer to pass to `createBus({ observers })`. */
  readonly observe: (event: BusEvent) => void;
  /** Steps of one flow in the order they happened. */
  timeline(correlationId: string): readonly WorkflowStep[];
  /** Correlation ids seen, in order of first appearance. */
  correlationIds(): readonly string[];
  /** Flows past their deadline that have not handled every end type. */
  stuck(now?: number): StuckWorkflow[];
}

/**
 * Creates a workflow tracker: pass its `observe` to `createBus({ observers })` of each service,
 * then read a flow's `timeline` or the flows `stuck` past their deadline. Keeps the newest
 * `maxFlows` flows (default 10000).
 */
export function createWorkflowTracker(
  options: { readonly workflows?: readonly WorkflowDefinition[]; readonly maxFlows?: number } = {},
): WorkflowTracker {
  const { workflows = [], maxFlows = 10_000 } = options;
  const flows = new Map<string, WorkflowStep[]>();

  const record = (correlationId: string | undefined, step: WorkflowStep) => {
    if (correlationId === undefined) return;
    // Bounded memory: the oldest flow is forgotten first.
    if (!flows.has(correlationId) && flows.size >= maxFlows)
      flows.delete(flows.keys().next().value!);
    const steps = getOrCreate(flows, correlationId, () => []);
    // In the order the steps began: a handled message is reported when its handler ends, after
    // what it published, so it goes in before the later-begun steps (usually one or two back).
    let index = steps.length;
    while (index > 0 && steps[index - 1]!.at > step.at) index -= 1;
    steps.splice(index, 0, step);
  };

  const observe = (event: BusEvent) => {
    const at = Date.now();
    const message = event.message;
    if (!message) return;
    const base = { at, service: event.service, type: message.type, messageId: message.id };
    switch (event.kind) {
      case 'published':
        record(message.correlationid, {
          ...base,
          action: message.kind === 'command' ? 'sent' : 'published',
          ...(event.via === 'outbox' ? { detail: 'via outbox' } : {}),
        });
        break;
      case 'consumed': {
        const action =
          event.outcome === 'handled'
            ? 'handled'
            : event.outcome === 'duplicate'
              ? 'duplicate-skipped'
              : event.outcome === 'stale'
                ? 'stale-skipped'
                : 'ignored';
        record(message.correlationid, {
          ...base,
          at: event.startedAt,
          action,
          detail: event.subscription,
        });
        break;
      }
      case 'retry':
        record(message.correlationid, {
          ...base,
          action: 'retry',
          detail: `attempt ${event.attempt}: ${event.reason}`,
        });
        break;
      case 'dead-lettered':
        record(message.correlationid, {
          ...base,
          action: 'dead-lettered',
          detail: `${event.reason.code}: ${event.reason.message}`,
        });
        break;
      case 'lease-lost':
        record(message.correlationid, {
          ...base,
          action: 'lease-lost',
          detail: event.subscription,
        });
        break;
    }
  };

  return {
    observe,
    timeline: (correlationId) => flows.get(correlationId) ?? [],
    correlationIds: () => [...flows.keys()],
    stuck(now = Date.now()) {
      const stuck: StuckWorkflow[] = [];
      for (const [correlationId, steps] of flows) {
        for (const workflow of workflows) {
          const start = steps.find(
            (s) =>
              s.type === workflow.startsWith && (s.action === 'published' || s.action === 'sent'),
          );
          if (!start || now - start.at < workflow.deadlineMs) continue;
          const missing = workflow.endsWith.filter(
            (type) => !steps.some((s) => s.type === type && s.action === 'handled'),
          );
          if (missing.length)
            stuck.push({ workflow: workflow.name, correlationId, startedAt: start.at, missing });
        }
      }
      return stuck;
    },
  };
}
