// The operator's command line: lists flows by state, shows one flow's timeline or its Mermaid
// diagram, read from the monitor's store. Parsing and printing only; bin.ts connects the store.
import { parseArgs } from 'node:util';
import type { FlowState } from './flow-summary.js';
import { flowsText, flowText } from './flow-text.js';
import type { MonitorStore } from './monitor-store.js';
import { sequenceDiagram } from './sequence-diagram.js';

/** How to call the CLI, printed for `help` and after a usage error. */
export const MONITOR_CLI_USAGE = `usage: eda-monitor <command> [options]
  flows [--state running|stuck|failed|completed|unmatched] [--workflow NAME] [--limit N]
  stuck [--workflow NAME] [--limit N]      flows past a deadline, with the step they wait for
  show <correlation-id> [--mermaid]        a flow's timeline, or its Mermaid sequence diagram
  serve [--port N]                         the web page: flows by state, timelines, diagrams
connection: --database-url URL (or EDA_MONITOR_DATABASE_URL), --schema NAME, --table-prefix NAME`;

const STATES: readonly FlowState[] = ['unmatched', 'running', 'stuck', 'completed', 'failed'];

/** A usage mistake: the message says what was wrong. */
class UsageError extends Error {}

function limitOf(value: string | undefined): number {
  if (value === undefined) return 100;
  const limit = Number(value);
  if (!Number.isSafeInteger(limit) || limit <= 0)
    throw new UsageError(`--limit is ${value}: give a positive whole number.`);
  return limit;
}

function stateOf(value: string | undefined): FlowState | undefined {
  if (value === undefined || (STATES as readonly string[]).includes(value))
    return value as FlowState | undefined;
  throw new UsageError(`--state is ${value}: use one of ${STATES.join(', ')}.`);
}

/** The options every command accepts (connection options are read by bin.ts). */
export const MONITOR_CLI_OPTIONS = {
  state: { type: 'string' },
  workflow: { type: 'string' },
  limit: { type: 'string' },
  mermaid: { type: 'boolean' },
  port: { type: 'string' },
  'database-url': { type: 'string' },
  schema: { type: 'string' },
  'table-prefix': { type: 'string' },
  help: { type: 'boolean' },
} as const;

/**
 * Runs one command against `store`, printing with `print`.
 * @returns the exit code: 0 done, 1 a flow that does not exist, 2 a usage error.
 */
export async function runMonitorCli(
  argv: readonly string[],
  store: Pick<MonitorStore, 'flows' | 'summary' | 'timeline'>,
  print: (text: string) => void,
): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: MONITOR_CLI_OPTIONS,
      allowPositionals: true,
    });
    const [command, ...rest] = positionals;
    const workflow = values.workflow;
    const limit = limitOf(values.limit);
    switch (command) {
      case 'flows':
      case 'stuck': {
        const state = command === 'stuck' ? 'stuck' : stateOf(values.state);
        const flows = await store.flows({
          ...(state ? { state } : {}),
          ...(workflow ? { workflow } : {}),
          limit,
        });
        print(flowsText(flows));
        return 0;
      }
      case 'show': {
        const [correlationId] = rest;
        if (!correlationId) throw new UsageError('show needs a correlation id.');
        const summary = await store.summary(correlationId);
        if (!summary) {
          print(`no flow ${correlationId} (purged, never seen, or another schema)`);
          return 1;
        }
        const timeline = await store.timeline(correlationId);
        print(values.mermaid ? sequenceDiagram(timeline) : flowText(summary, timeline));
        return 0;
      }
      case undefined:
      case 'help':
        print(MONITOR_CLI_USAGE);
        return command === undefined && !values.help ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${command}.`);
    }
  } catch (error) {
    const usage =
      error instanceof UsageError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    if (!usage) throw error;
    print(`eda-monitor: ${(error as Error).message}\n${MONITOR_CLI_USAGE}`);
    return 2;
  }
}
