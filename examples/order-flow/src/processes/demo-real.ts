// `pnpm demo:real`: the order flow as separate processes on the real services (after
// `pnpm services:up`). Starts payments, the relay, the four consumers and the workflow monitor,
// each its own Node process, prints every step of every order as it happens, waits until the
// system is idle, prints each order's end state from the services' ledger and the monitor's
// view (flows by state, one order's sequence diagram), then stops the set and removes the
// run's topics, queues, tables and objects (keep them with --keep). With
// EDA_ORDER_FLOW_MONITOR_PORT=8080 the monitor serves its page meanwhile.
//
// Instances: --relay=2 --inventory=3 ... (any scalable service).

import { createPostgresMonitorStore, sequenceDiagram } from '@eda/workflow-monitor';
import { deleteNamespace } from '../delete-namespace.js';
import { ORDER_END_STATE } from '../ledger.js';
import { ORDERS } from '../order-flow.js';
import { schemaOf } from '../real-infrastructure.js';
import { openMonitor } from './monitor.js';
import { startProcessSet } from './process-set.js';
import { FLOW_SERVICES, SCALABLE, type ServiceName } from './services.js';

function parseInstances(args: readonly string[]): Partial<Record<ServiceName, number>> {
  const instances: Partial<Record<ServiceName, number>> = {};
  for (const arg of args) {
    if (arg === '--keep') continue;
    const match = /^--([a-z]+)=(\d+)$/.exec(arg);
    const service = match?.[1] as ServiceName | undefined;
    if (!match || !service || !SCALABLE.includes(service))
      throw new Error(
        `Unknown option ${arg}: use --keep, or --<service>=<instances> for ${SCALABLE.join(', ')}.`,
      );
    instances[service] = Number(match[2]);
  }
  return instances;
}

/**
 * What the monitor process recorded, read from its tables: flows by state, and the first
 * order's sequence diagram. Its audit records arrive a moment after the flow went idle.
 */
async function showMonitorView() {
  const store = createPostgresMonitorStore({ pool: monitor.pool, schema: schemaOf(namespace) });
  const deadline = Date.now() + 30_000;
  let flows = await store.flows({});
  while (
    flows.filter((f) => f.state === 'completed').length < ORDERS.length &&
    Date.now() < deadline
  ) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    flows = await store.flows({});
  }
  const states = new Map<string, number>();
  for (const flow of flows) states.set(flow.state, (states.get(flow.state) ?? 0) + 1);
  console.log(
    `\nThe workflow monitor (its own process) sees: ${JSON.stringify(Object.fromEntries(states))}`,
  );
  const first = [...flows].sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0))[0];
  if (first)
    console.log(
      `\n${first.correlationId}:\n${sequenceDiagram(await store.timeline(first.correlationId))}`,
    );
}

const args = process.argv.slice(2);
const instances = parseInstances(args);
const namespace =
  process.env.EDA_ORDER_FLOW_NAMESPACE || `order-flow-demo-${Date.now().toString(36)}`;
const started = Date.now();
const print = (from: string, line: string) =>
  console.log(
    `${`+${((Date.now() - started) / 1000).toFixed(2)}s`.padStart(8)}  ${from.padEnd(16)} ${line}`,
  );

console.log(`Order flow as separate processes, namespace ${namespace}\n`);
const monitor = await openMonitor(namespace, (line) => print('demo', line));
const set = await startProcessSet({
  namespace,
  instances,
  services: [...FLOW_SERVICES, 'monitor'],
  onLine: print,
});
let finishing: Promise<void> | undefined;
/** Stops the processes, then removes the run's namespace (unless --keep). Runs once. */
function finish(): Promise<void> {
  finishing ??= (async () => {
    const unclean = await set.stop();
    if (unclean.length) print('demo', `did not stop cleanly: ${unclean.join('; ')}`);
    await monitor.close();
    if (args.includes('--keep')) {
      console.log(`\nKept namespace ${namespace} (topics, queues, schema, objects).`);
      return;
    }
    print('demo', `removing the run's topics, queues, schema and objects (--keep keeps them)`);
    await deleteNamespace(namespace);
    print('demo', 'done');
  })();
  return finishing;
}
// Ctrl-C: the processes get SIGINT from the terminal too; stop them all and clean up at once,
// instead of waiting for a flow that will not finish.
process.once('SIGINT', () => {
  print('demo', 'interrupted: stopping the processes');
  void finish().then(() => process.exit(130));
});
try {
  print('demo', `running ${set.names.join(', ')}`);
  for (const order of ORDERS) await set.placeOrder(order);
  print('demo', `placed ${ORDERS.length} orders; waiting until the system is idle`);
  const idle = await monitor.probe.waitForIdle();
  print('demo', `idle: outbox ${JSON.stringify(idle.outbox)}, every consumer caught up`);
  const ledger = await monitor.ledger();
  console.log("\nEach order, from the services' ledger (effect: times applied):");
  for (const { orderId } of ORDERS) {
    const steps = ledger.get(orderId) ?? {};
    const done = Object.keys(ORDER_END_STATE).every((step) => steps[step] === 1);
    console.log(`  ${orderId}  ${done ? 'done' : 'NOT DONE'}  ${JSON.stringify(steps)}`);
  }
  await showMonitorView();
  if (set.unexpectedExits.length)
    console.log(`\nUnexpected exits: ${set.unexpectedExits.join('; ')}`);
} finally {
  await finish();
}
