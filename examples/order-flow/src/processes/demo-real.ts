// `pnpm demo:real`: the order flow as separate processes on the real services (after
// `pnpm services:up`). Starts payments, the relay and the four consumers, each its own Node
// process, prints every step of every order as it happens, waits until the system is idle,
// prints each order's end state from the services' ledger, then stops the set and removes the
// run's topics, queues, tables and objects (keep them with --keep).
//
// Instances: --relay=2 --inventory=3 ... (any scalable service).
import { deleteNamespace } from '../delete-namespace.js';
import { ORDER_END_STATE } from '../ledger.js';
import { ORDERS } from '../order-flow.js';
import { openMonitor } from './monitor.js';
import { startProcessSet } from './process-set.js';
import { SCALABLE, type ServiceName } from './services.js';

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
const set = await startProcessSet({ namespace, instances, onLine: print });
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
  if (set.unexpectedExits.length)
    console.log(`\nUnexpected exits: ${set.unexpectedExits.join('; ')}`);
} finally {
  await finish();
}
