// What the monitor's services tests share: a namespace's transports, a workflow monitor on a
// fresh PostgreSQL schema, fed by its audit consumer on one broker, and a count of the records it
// stored (the progress their waits reset on). Everything is closed and removed by `cleanups`.
import type { Transport } from '@eda/core';
import { uniqueName, usePostgresSchema } from '@eda/test-services';
import {
  consumeAuditRecords,
  createPostgresMonitorStore,
  createWorkflowMonitor,
  ensureMonitorSchema,
  type WorkflowDefinition,
} from '@eda/workflow-monitor';
import pg from 'pg';
import { deleteNamespace } from '../src/delete-namespace.js';
import { createRealTransports } from '../src/real-infrastructure.js';

export type Broker = 'kafka' | 'rabbitmq';

export async function monitorOnBroker(options: {
  readonly broker: Broker;
  /** Names the namespace and the schema. */
  readonly label: string;
  readonly workflows: readonly WorkflowDefinition[];
  /** Steps run after the test, last first. */
  readonly cleanups: (() => Promise<unknown>)[];
  readonly onError?: (error: unknown) => void;
}) {
  const { broker, label, workflows, cleanups } = options;
  const namespace = uniqueName(`${label}-${broker}`);
  const { events, commands } = createRealTransports(namespace);
  const transport: Transport = broker === 'kafka' ? events : commands;
  cleanups.push(() => deleteNamespace(namespace));
  cleanups.push(() => Promise.all([events.close(), commands.close()]));
  const schema = await usePostgresSchema(`${label.replaceAll('-', '_')}_monitor`);
  cleanups.push(() => schema.cleanup());
  const pool = new pg.Pool(schema.clientConfig(`eda-${label}-monitor-test`));
  cleanups.push(() => pool.end());
  await ensureMonitorSchema(pool, { schema: schema.name });
  const monitor = createWorkflowMonitor({
    store: createPostgresMonitorStore({ pool, schema: schema.name }),
    workflows,
  });
  let stored = 0;
  const consumer = await consumeAuditRecords({
    transport,
    monitor: {
      ingest: async (records) => {
        const result = await monitor.ingest(records);
        stored += result.stored;
        return result;
      },
    },
    ...(options.onError ? { onError: options.onError } : {}),
  });
  cleanups.push(() => consumer.close());
  return { namespace, events, commands, transport, monitor, stored: () => stored };
}
