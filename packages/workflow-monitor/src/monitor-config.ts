// The `eda-monitor --config` file: what the command line cannot say in flags. The workflows the
// monitor watches (recording a redrive re-derives its flow, which needs them) and the transport's
// dead-letter admin, which the user's module builds with the transport package it already has
// (@eda/kafka, @eda/rabbitmq), so this package depends on none of them.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigurationError, type DeadLetterAdmin } from '@eda/core';
import type { WorkflowDefinition } from './workflow-definition.js';

/** What a config module exports as its default. */
export interface MonitorConfig {
  /** The workflows the monitor watches (the same `defineWorkflow` values). */
  readonly workflows: readonly WorkflowDefinition[];
  /** The dead letters the CLI and the page act on. */
  readonly deadLetters?: {
    readonly admin: DeadLetterAdmin;
    /** The subscriptions the page lists (the CLI takes any the admin knows). */
    readonly subscriptions: readonly string[];
  };
}

/**
 * Imports a config module (`export default { workflows, deadLetters }`, or a function returning
 * that, possibly async) and checks its shape.
 * @throws ConfigurationError naming what is missing or wrong.
 */
export async function loadMonitorConfig(file: string): Promise<MonitorConfig> {
  const where = `eda-monitor config ${file}`;
  let exported: unknown;
  try {
    exported = ((await import(pathToFileURL(resolve(file)).href)) as { default?: unknown }).default;
  } catch (cause) {
    throw new ConfigurationError(`${where} could not be loaded: ${(cause as Error).message}`, {
      cause,
    });
  }
  const config = (typeof exported === 'function' ? await exported() : exported) as
    | Partial<MonitorConfig>
    | undefined;
  if (!config || typeof config !== 'object')
    throw new ConfigurationError(
      `${where} has no default export: export default { workflows: [...], deadLetters: { admin, subscriptions } }.`,
    );
  if (!Array.isArray(config.workflows))
    throw new ConfigurationError(
      `${where} exports no workflows: give the same defineWorkflow(...) values the monitor runs with, so that recording a redrive keeps each flow's state.`,
    );
  const deadLetters = config.deadLetters;
  if (
    deadLetters !== undefined &&
    (typeof deadLetters.admin?.redrive !== 'function' || !Array.isArray(deadLetters.subscriptions))
  )
    throw new ConfigurationError(
      `${where}: deadLetters needs { admin, subscriptions }: an admin such as createKafkaDeadLetterAdmin(transportOptions), and the subscription names the page lists.`,
    );
  return config as MonitorConfig;
}
