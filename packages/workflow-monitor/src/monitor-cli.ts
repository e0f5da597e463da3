// The operator's command line: lists flows by state, shows one flow's timeline or its Mermaid
// diagram, read from the monitor's store; lists, shows, redrives and discards dead letters.
// Parsing and printing only; bin.ts connects the store and the transport.
import { parseArgs } from 'node:util';
import type { RedriveSelection } from '@eda/core';
import type { DeadLetterDesk } from './dead-letter-desk.js';
import { deadLettersText, deadLetterText } from './dead-letter-text.js';
import type { FlowState } from './flow-summary.js';
import { flowsText, flowText } from './flow-text.js';
import type { MonitorStore } from './monitor-store.js';
import { sequenceDiagram } from './sequence-diagram.js';

/** How to call the CLI, printed for `help` and after a usage error. */
export const MONITOR_CLI_USAGE = `usage: eda-monitor <command> [options]
  flows [--state running|stuck|failed|completed|unmatched] [--workflow NAME] [--limit N]
  stuck [--workflow NAME] [--limit N]      flows past a deadline, with the step they wait for
  show <correlation-id> [--mermaid]        a flow's timeline, or its Mermaid sequence diagram
  serve [--port N]                         the web page: flows, timelines, diagrams, dead letters
  dead-letters <subscription> [--code CODE] [--limit N]   a subscription's dead letters
  dead-letter <subscription> <handle>      one dead letter: reason, headers, data
  redrive <subscription> (--handle H... | --code CODE | --all)   back to the subscription
  discard <subscription> <handle>          remove one dead letter for good
connection: --database-url URL (or EDA_MONITOR_DATABASE_URL), --schema NAME, --table-prefix NAME
dead letters: --config FILE, a module exporting { workflows, deadLetters: { admin, subscriptions } }`;

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

/** What `redrive` sends back: exactly one of --handle, --code and --all. */
function selectionOf(values: {
  handle?: string[] | undefined;
  code?: string | undefined;
  all?: boolean | undefined;
}): RedriveSelection {
  const given = [values.handle?.length, values.code, values.all].filter(Boolean).length;
  if (given !== 1)
    throw new UsageError(
      'redrive needs exactly one of --handle H (repeatable), --code CODE, --all.',
    );
  if (values.handle?.length) return { handles: values.handle };
  if (values.code) return { code: values.code };
  return { all: true };
}

/** The options every command accepts (connection options are read by bin.ts). */
export const MONITOR_CLI_OPTIONS = {
  state: { type: 'string' },
  workflow: { type: 'string' },
  limit: { type: 'string' },
  mermaid: { type: 'boolean' },
  port: { type: 'string' },
  code: { type: 'string' },
  handle: { type: 'string', multiple: true },
  all: { type: 'boolean' },
  config: { type: 'string' },
  'database-url': { type: 'string' },
  schema: { type: 'string' },
  'table-prefix': { type: 'string' },
  help: { type: 'boolean' },
} as const;

/**
 * Runs one command against `store`, printing with `print`.
 * @returns the exit code: 0 done, 1 a flow or dead letter that does not exist, 2 a usage error.
 */
export async function runMonitorCli(
  argv: readonly string[],
  store: Pick<MonitorStore, 'flows' | 'summary' | 'timeline'>,
  print: (text: string) => void,
  deadLetters?: DeadLetterDesk,
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
      case 'dead-letters':
      case 'dead-letter':
      case 'redrive':
      case 'discard': {
        const [subscription, handle] = rest;
        if (!subscription) throw new UsageError(`${command} needs a subscription.`);
        if (!deadLetters)
          throw new UsageError(
            `${command} needs the transport's dead-letter admin: pass --config FILE (see the README).`,
          );
        if (command === 'dead-letters') {
          const code = values.code;
          print(
            deadLettersText(
              await deadLetters.list(subscription, { ...(code ? { code } : {}), limit }),
            ),
          );
          return 0;
        }
        if (command === 'redrive') {
          const redriven = await deadLetters.redrive(subscription, selectionOf(values));
          print(
            `redriven ${redriven.length}${redriven.length ? `: ${redriven.map((d) => d.handle).join(', ')}` : ''}`,
          );
          return 0;
        }
        if (!handle) throw new UsageError(`${command} needs a dead letter's handle.`);
        if (command === 'discard') {
          const discarded = await deadLetters.discard(subscription, handle);
          print(discarded ? `discarded ${handle}` : `no dead letter ${handle} of ${subscription}`);
          return discarded ? 0 : 1;
        }
        const deadLetter = await deadLetters.get(subscription, handle);
        print(
          deadLetter ? deadLetterText(deadLetter) : `no dead letter ${handle} of ${subscription}`,
        );
        return deadLetter ? 0 : 1;
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
