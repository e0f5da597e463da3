// One service of the order flow as its own process: `service-process.ts <service>`, on the real
// services, in the namespace of EDA_ORDER_FLOW_NAMESPACE. The process set (process-set.ts)
// starts these; each can also be started by hand. It stops cleanly on SIGTERM or SIGINT, and
// when its standard input ends (the supervisor went away), so no process outlives its set.
import { createInterface } from 'node:readline';
import { type BusObserver, describeError } from '@eda/core';
import { readEndpoints } from '@eda/test-services';
import {
  type AuditRecord,
  createAuditReporter,
  createTransportAuditSink,
} from '@eda/workflow-monitor';
import { createRealInfrastructure } from '../real-infrastructure.js';
import { startTracing } from '../tracing.js';
import { progressPrinter } from './progress.js';
import { isServiceName, runService, SERVICE_NAMES } from './services.js';
import { untilAvailable } from './until-available.js';
import { runWorkflowMonitor } from './workflow-monitor-service.js';

const service = process.argv[2];
if (!isServiceName(service)) {
  console.error(
    `Usage: service-process.ts <service>, where <service> is one of ${SERVICE_NAMES.join(', ')} (got ${JSON.stringify(service)}).`,
  );
  process.exit(2);
}
const namespace = process.env.EDA_ORDER_FLOW_NAMESPACE || 'order-flow';
// Spans go to Zipkin (EDA_ZIPKIN_URL) under this service's name; EDA_ORDER_FLOW_TRACING=off skips it.
const tracing =
  process.env.EDA_ORDER_FLOW_TRACING === 'off'
    ? undefined
    : startTracing(service, readEndpoints().zipkinUrl);
const say = (line: string) => void process.stdout.write(`${line}\n`);
const shutdown = new AbortController();
const stdin = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
// Taken now: the iterator queues the lines that arrive while the process still connects (an
// order piped in at once), where a reader created later would miss them.
const orderLines = stdin[Symbol.asyncIterator]();

// EDA_ORDER_FLOW_AUDIT=on (a set with the monitor): every bus and the relay report what they did
// as audit records on Kafka, for the monitor process. Payments writes to the outbox only: the
// relay reports its messages once they are committed and published.
let auditSink: (records: readonly AuditRecord[]) => Promise<void> = async () => {
  throw new Error('the transport is not connected yet');
};
const audit =
  process.env.EDA_ORDER_FLOW_AUDIT === 'on' && service !== 'payments' && service !== 'monitor'
    ? createAuditReporter({
        service,
        // The sink is made once the transport exists (below); the reporter buffers until then.
        sink: (records: readonly AuditRecord[]) => auditSink(records),
      })
    : undefined;
const observers: BusObserver[] = [
  progressPrinter(say, process.env.EDA_ORDER_FLOW_PROGRESS === 'quiet'),
  ...(audit ? [audit.observe] : []),
];

const infra = await createRealInfrastructure({
  namespace,
  // Each effect commits with its inbox row: a consumer killed at any point applies it once.
  // EDA_ORDER_FLOW_DEDUPE=redis runs the Redis store instead (the crash run's second variant).
  dedupe: process.env.EDA_ORDER_FLOW_DEDUPE === 'redis' ? 'redis' : 'inbox',
  // Payments only writes to the outbox: no broker connection at all.
  transport: service !== 'payments',
  // The set (or your migrations) created the tables once, before the processes started.
  prepareSchema: false,
  // EDA_ORDER_FLOW_CONCURRENCY: messages each consumer handles at once (the crash run's throughput).
  ...(process.env.EDA_ORDER_FLOW_CONCURRENCY
    ? { consumerConcurrency: Number(process.env.EDA_ORDER_FLOW_CONCURRENCY) }
    : {}),
  // EDA_ORDER_FLOW_PROGRESS=quiet prints only the exceptions (a crash run of thousands of orders).
  observers,
  ...(audit ? { relayObservers: [audit.observeRelay] } : {}),
  // The adapters reconnect by themselves; say so, so a process riding out an outage shows it.
  onError: (error) =>
    say(`connection trouble, handled by the adapter: ${describeError(error).message}`),
});

if (audit && infra.events)
  auditSink = createTransportAuditSink({ transport: infra.events, service });

let running: ReturnType<typeof runService> | undefined;
let stopping: Promise<void> | undefined;
function stop(why: string): Promise<void> {
  // Assigned before the body runs: the body closes stdin, whose 'close' calls stop() again.
  stopping ??= Promise.resolve().then(async () => {
    say(`stopping (${why})`);
    shutdown.abort();
    stdin.close(); // ends payments' order feed: the orders already read are paid first
    // A stop that hangs (a broker gone for good) must not keep the process forever.
    setTimeout(() => process.exit(1), 15_000).unref();
    await running?.stop();
    await audit?.close(); // sends what it still holds, within its own time limit
    await infra.close();
    await tracing?.shutdown();
    process.exit(0);
  });
  return stopping;
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop(signal));
// The end of stdin stops a service; payments first pays every order its feed gave (see below).
if (service !== 'payments') stdin.on('close', () => void stop('standard input closed'));

try {
  await untilAvailable('PostgreSQL', () => infra.pool.query('select 1'), {
    log: say,
    signal: shutdown.signal,
  });
  const io = {
    say,
    signal: shutdown.signal,
    orders: { [Symbol.asyncIterator]: () => orderLines },
  };
  running = service === 'monitor' ? runWorkflowMonitor(infra, io) : runService(service, infra, io);
  void running.finished?.then(() => stop('its order feed ended'));
  await running.started;
  say('@ready');
} catch (error) {
  if (!shutdown.signal.aborted) throw error;
}
