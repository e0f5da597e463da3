// The workflow monitor as its own process of the order flow: it reads the audit records every
// other process publishes (EDA_ORDER_FLOW_AUDIT=on), keeps them in PostgreSQL (the run's schema),
// evaluates the order workflow every second and prints each missed deadline as
// `@stuck <correlation id> <what it waits for>`, once per deadline, also across restarts. With
// EDA_ORDER_FLOW_MONITOR_PORT it serves its page there.
import type { Server } from 'node:http';
import { type DeadLetterAdmin, describeError, type Subscription } from '@eda/core';
import { createKafkaDeadLetterAdmin } from '@eda/kafka';
import { createRabbitMqDeadLetterAdmin } from '@eda/rabbitmq';
import {
  consumeAuditRecords,
  createDeadLetterDesk,
  createMonitorServer,
  createPostgresMonitorStore,
  createWorkflowMonitor,
  ensureMonitorSchema,
  routeDeadLetterAdmins,
  type WorkflowMonitor,
  type WorkflowStuck,
} from '@eda/workflow-monitor';
import { orderWorkflow } from '../infrastructure.js';
import { type RealInfrastructure, realTransportOptions } from '../real-infrastructure.js';
import type { RunningService, ServiceIo } from './services.js';
import { ORDER_FLOW_CONSUMERS } from './services.js';
import { untilAvailable } from './until-available.js';

/** How often deadlines are checked. */
const EVALUATE_EVERY_MS = 1000;

/** Milliseconds from an environment variable, or undefined when unset. */
function msFromEnv(name: string): number | undefined {
  const value = process.env[name];
  if (!value) return undefined;
  const ms = Number(value);
  if (!Number.isSafeInteger(ms) || ms <= 0)
    throw new Error(`${name} must be a positive whole number of milliseconds (got ${value}).`);
  return ms;
}

/** The line a missed deadline prints: what the flow waits for, and who should act. */
export function stuckLine(stuck: WorkflowStuck): string {
  const { deadline } = stuck;
  const step = deadline.step ? ` ${deadline.step.type} by ${deadline.step.service}` : '';
  return `@stuck ${stuck.correlationId} ${deadline.key}${step} missing ${deadline.missing.join(',')}`;
}

/**
 * The dead letters of every consumer of the flow, each on its transport's admin: the event
 * subscriptions' Kafka dead-letter topics, the command owner's RabbitMQ dead-letter queue.
 */
function orderFlowDeadLetters(namespace: string, monitor: WorkflowMonitor) {
  const options = realTransportOptions(namespace);
  const kafka = createKafkaDeadLetterAdmin(options.kafka);
  const rabbitMq = createRabbitMqDeadLetterAdmin(options.rabbitMq);
  const routes: Record<string, DeadLetterAdmin> = Object.fromEntries(
    ORDER_FLOW_CONSUMERS.map((c) => [c.name, c.kind === 'event' ? kafka : rabbitMq]),
  );
  const admin = routeDeadLetterAdmins(routes);
  return {
    admin,
    desk: createDeadLetterDesk({ admin, monitor }),
    subscriptions: Object.keys(routes),
  };
}

export function runWorkflowMonitor(infra: RealInfrastructure, io: ServiceIo): RunningService {
  const { events: transport, pool, schema } = infra;
  if (!transport)
    throw new Error(
      'The workflow monitor reads the audit records from Kafka: start it with a transport.',
    );
  const onError = (error: unknown) => io.say(`monitor: ${describeError(error).message}`);
  let subscription: Subscription | undefined;
  let timer: NodeJS.Timeout | undefined;
  let server: Server | undefined;
  let deadLetters: ReturnType<typeof orderFlowDeadLetters> | undefined;
  const started = (async () => {
    await untilAvailable(
      'PostgreSQL for the monitor tables',
      () => ensureMonitorSchema(pool, { schema }),
      {
        log: io.say,
        signal: io.signal,
      },
    );
    const store = createPostgresMonitorStore({ pool, schema });
    const monitor = createWorkflowMonitor({
      store,
      // Deadlines from EDA_ORDER_FLOW_STEP_DEADLINE_MS / EDA_ORDER_FLOW_DEADLINE_MS (tests make
      // them fit a loaded machine); the demo's otherwise.
      workflows: [
        orderWorkflow({
          stepMs: msFromEnv('EDA_ORDER_FLOW_STEP_DEADLINE_MS'),
          totalMs: msFromEnv('EDA_ORDER_FLOW_DEADLINE_MS'),
        }),
      ],
      onStuck: (stuck) => io.say(stuckLine(stuck)),
      onError,
    });
    subscription = await untilAvailable(
      'Kafka for the audit records',
      () => consumeAuditRecords({ transport, monitor, onError }),
      { log: io.say, signal: io.signal },
    );
    timer = setInterval(() => void monitor.evaluate().catch(onError), EVALUATE_EVERY_MS);
    const port = process.env.EDA_ORDER_FLOW_MONITOR_PORT;
    if (port) {
      deadLetters = orderFlowDeadLetters(infra.namespace, monitor);
      server = createMonitorServer({ store, deadLetters });
      await new Promise<void>((resolve) => server!.listen(Number(port), resolve));
      io.say(`monitor page on http://localhost:${port}/`);
    }
  })();
  return {
    started,
    async stop() {
      await started.catch(() => undefined);
      clearInterval(timer);
      server?.close();
      await deadLetters?.admin.close();
      await subscription?.close();
    },
  };
}
