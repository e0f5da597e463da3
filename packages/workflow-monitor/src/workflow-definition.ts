// Workflows as users declare them: where a flow starts, what ends it, which steps must happen
// by when. Checked once, when declared, so a typo fails at start-up instead of never alerting.
import { ConfigurationError } from '@eda/core';

/** A step a flow is expected to reach within `deadlineMs` of its start. */
export interface WorkflowStep {
  /** The message type of the step. */
  readonly type: string;
  /**
   * The service expected to handle it: the step is reached when this service handled a
   * message of `type`. Without it, any record of a message of `type` (published, relayed,
   * handled...) reaches the step.
   */
  readonly service?: string;
  /** Milliseconds after the flow's start. */
  readonly deadlineMs: number;
}

/** A declared workflow; made by `defineWorkflow`. */
export interface WorkflowDefinition {
  readonly name: string;
  /** The message type that starts a flow; every workflow starts with its own type. */
  readonly startsWith: string;
  /** The flow is complete when every (`all`) or one (`any`) of these types was reached. */
  readonly endsWith: { readonly all: readonly string[] } | { readonly any: readonly string[] };
  /** Expected steps, each with its own deadline. @default [] */
  readonly steps: readonly WorkflowStep[];
  /** A flow not complete this long after its start is stuck. */
  readonly deadlineMs: number;
}

/** What `defineWorkflow` takes. */
export type WorkflowDeclaration = Omit<WorkflowDefinition, 'steps'> & {
  readonly steps?: readonly WorkflowStep[];
};

function fail(name: string, problem: string): never {
  throw new ConfigurationError(`Workflow "${name}": ${problem}.`);
}

function checkDeadline(name: string, what: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)
    fail(name, `${what} is ${value}: use a positive whole number of milliseconds`);
}

function checkType(name: string, what: string, value: unknown): void {
  if (typeof value !== 'string' || value === '') fail(name, `${what} must be a message type`);
}

/**
 * Declares a workflow for the monitor.
 * @throws ConfigurationError naming the workflow and the bad field: an empty name or type, no
 * end type, a deadline that is not a positive whole number.
 */
export function defineWorkflow(declaration: WorkflowDeclaration): WorkflowDefinition {
  const { name, startsWith, endsWith, steps = [], deadlineMs } = declaration;
  if (typeof name !== 'string' || name === '')
    throw new ConfigurationError('A workflow needs a name.');
  checkType(name, 'startsWith', startsWith);
  const ends = 'all' in endsWith ? endsWith.all : endsWith.any;
  if (!Array.isArray(ends) || ends.length === 0)
    fail(name, 'endsWith needs { all: [types] } or { any: [types] } with at least one type');
  for (const type of ends) checkType(name, 'every end type', type);
  checkDeadline(name, 'deadlineMs', deadlineMs);
  for (const [index, step] of steps.entries()) {
    checkType(name, `step ${index} type`, step.type);
    checkDeadline(name, `step ${index} (${step.type}) deadlineMs`, step.deadlineMs);
    if (step.service !== undefined && (typeof step.service !== 'string' || step.service === ''))
      fail(name, `step ${index} (${step.type}) service must be a non-empty name when given`);
  }
  return { name, startsWith, endsWith, steps, deadlineMs };
}

/** Workflows by their start type. */
export type WorkflowCatalog = ReadonlyMap<string, WorkflowDefinition>;

/**
 * Indexes workflows by start type.
 * @throws ConfigurationError when two workflows share a name or a start type (a flow would
 * then belong to either).
 */
export function catalogOf(workflows: readonly WorkflowDefinition[]): WorkflowCatalog {
  const byStart = new Map<string, WorkflowDefinition>();
  const names = new Set<string>();
  for (const workflow of workflows) {
    if (names.has(workflow.name)) fail(workflow.name, 'declared twice');
    const other = byStart.get(workflow.startsWith);
    if (other)
      fail(
        workflow.name,
        `starts with ${workflow.startsWith}, like workflow "${other.name}": each workflow needs its own start type`,
      );
    names.add(workflow.name);
    byStart.set(workflow.startsWith, workflow);
  }
  return byStart;
}
