// Starts the order flow as a set of processes (one per service instance) on the real services,
// forwards their lines as they come, places orders through the payments process, and stops the
// set cleanly. Used by `pnpm demo:real` and by the process tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  FLOW_SERVICES,
  type OrderRequest,
  SCALABLE,
  SERVICE_NAMES,
  type ServiceName,
} from './services.js';

const SERVICE_PROCESS = fileURLToPath(new URL('./service-process.ts', import.meta.url));
const EXAMPLE_DIR = fileURLToPath(new URL('../..', import.meta.url));

export interface ProcessSetOptions {
  /** Prefix of the set's topics, queues, schema and objects (EDA_ORDER_FLOW_NAMESPACE). */
  readonly namespace: string;
  /** Instances of each scalable service (relay, inventory, shipping, billing, notifications). @default 1 each */
  readonly instances?: Partial<Record<ServiceName, number>>;
  /** Run only these services; add `monitor` for the workflow monitor (every process then reports to it). @default every service of the flow, no monitor */
  readonly services?: readonly ServiceName[];
  /** Extra environment of every process, such as an endpoint (`EDA_POSTGRES_URL`). */
  readonly env?: Readonly<Record<string, string>>;
  /** Told each line a process writes (`from` is such as `inventory#2`). @default printed with the name in front */
  readonly onLine?: (from: string, line: string) => void;
}

export interface ProcessSet {
  /** Names of the processes, such as `relay#1`. */
  readonly names: readonly string[];
  /** Processes that exited without being asked to (killed ones are not listed), with their exit. */
  readonly unexpectedExits: readonly string[];
  /** Hands an order to payments; resolves once its payment and event are committed. */
  placeOrder(order: OrderRequest): Promise<void>;
  /**
   * Hands many orders to payments without a round trip each: up to `window` order lines are
   * written ahead of their `@paid` replies (payments still pays them one by one, in order).
   * Resolves once every order is committed.
   * @throws Error when payments exits before every order is paid.
   */
  placeOrders(orders: Iterable<OrderRequest>, options?: PlaceOrdersOptions): Promise<void>;
  /** SIGKILLs a process (no cleanup at all, like a crash) and waits until it is gone. */
  kill(name: string): Promise<void>;
  /** Starts a stopped or killed process again; resolves once it is running. */
  restart(name: string): Promise<void>;
  /**
   * SIGTERM to every process; SIGKILL to any still running after `graceMs`. Resolves with the
   * processes that did not stop cleanly (exit code 0), such as `payments#1 exited (code 1)`.
   */
  stop(graceMs?: number): Promise<string[]>;
}

export interface PlaceOrdersOptions {
  /** Order lines written ahead of their `@paid` replies. @default 100 */
  readonly window?: number;
  /** Told each order once it is paid. */
  readonly onPaid?: (orderId: string) => void;
}

interface Member {
  readonly service: ServiceName;
  readonly name: string;
  child?: ChildProcess | undefined;
  /** Set before a deliberate kill or stop, so its exit is not reported as unexpected. */
  expectExit: boolean;
}

/** Every process of the set, in start order: payments first, the relays, then consumers. */
function membersOf(
  services: readonly ServiceName[],
  instances: Partial<Record<ServiceName, number>>,
): Member[] {
  return SERVICE_NAMES.filter((s) => services.includes(s)).flatMap((service) => {
    const count = instances[service] ?? 1;
    if (!Number.isSafeInteger(count) || count < 1 || (count > 1 && !SCALABLE.includes(service)))
      throw new Error(
        `Process set: ${service} instances must be 1${SCALABLE.includes(service) ? ' or more' : ''} (got ${count}).`,
      );
    return Array.from({ length: count }, (_, i) => ({
      service,
      name: `${service}#${i + 1}`,
      expectExit: false,
    }));
  });
}

/** Starts every process and resolves once all of them are running. */
export async function startProcessSet(options: ProcessSetOptions): Promise<ProcessSet> {
  const { namespace, services = FLOW_SERVICES, instances = {}, env = {} } = options;
  const onLine = options.onLine ?? ((from, line) => console.log(`[${from}] ${line}`));
  const members = membersOf(services, instances);
  const unexpectedExits: string[] = [];
  const paid = new Map<string, () => void>();

  const launch = async (member: Member): Promise<void> => {
    member.expectExit = false;
    const child = spawn(
      process.execPath,
      [
        // kafkajs 2.2.4 warns of a negative timer on Node >= 22; harmless (packages/kafka/README.md).
        '--disable-warning=TimeoutNegativeWarning',
        '--conditions=development',
        '--import',
        'tsx',
        SERVICE_PROCESS,
        member.service,
      ],
      {
        cwd: EXAMPLE_DIR,
        env: {
          ...process.env,
          ...env,
          // With a monitor in the set, every process reports to it.
          ...(services.includes('monitor') ? { EDA_ORDER_FLOW_AUDIT: 'on' } : {}),
          EDA_ORDER_FLOW_NAMESPACE: namespace,
          EDA_ORDER_FLOW_INSTANCE: member.name.split('#')[1],
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    member.child = child;
    const exited = once(child, 'exit');
    let ready!: () => void;
    const started = new Promise<void>((resolve) => {
      ready = resolve;
    });
    createInterface({ input: child.stderr! }).on('line', (line) =>
      onLine(member.name, `! ${line}`),
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === '@ready') ready();
      else if (line.startsWith('@paid ')) paid.get(line.slice(6))?.();
      else onLine(member.name, line);
    });
    child.stdin!.on('error', () => undefined); // a killed child's pipe: its exit is reported below
    void exited.then(([code, signal]) => {
      if (member.child === child) member.child = undefined;
      const how = `exited (${signal ?? `code ${code}`})`;
      if (!member.expectExit) unexpectedExits.push(`${member.name} ${how}`);
      onLine(member.name, member.expectExit ? how : `${how} unexpectedly`);
    });
    await Promise.race([
      started,
      exited.then(([code, signal]) => {
        throw new Error(
          `${member.name} exited (${signal ?? `code ${code}`}) before it was running: see its lines above.`,
        );
      }),
    ]);
  };

  const memberNamed = (name: string): Member => {
    const member = members.find((m) => m.name === name);
    if (!member)
      throw new Error(
        `Process set has no process "${name}": it has ${members.map((m) => m.name).join(', ')}.`,
      );
    return member;
  };

  const terminate = async (member: Member, signal: NodeJS.Signals, graceMs: number) => {
    const child = member.child;
    if (!child) return undefined;
    member.expectExit = true;
    const exited = once(child, 'exit');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const [code, exitSignal] = await exited;
    clearTimeout(timer);
    return code === 0 ? undefined : `${member.name} exited (${exitSignal ?? `code ${code}`})`;
  };

  const stop = async (graceMs = 20_000) => {
    const exits = await Promise.all(members.map((m) => terminate(m, 'SIGTERM', graceMs)));
    return exits.filter((exit) => exit !== undefined);
  };

  try {
    // Launched one at a time: each compiles its TypeScript at start, and a 2-core machine
    // starts them faster in turn than all at once.
    for (const member of members) await launch(member);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    names: members.map((m) => m.name),
    unexpectedExits,
    async placeOrder(order) {
      const stdin = members.find((m) => m.name === 'payments#1')?.child?.stdin;
      if (!stdin) throw new Error('Process set: payments is not running, so it takes no order.');
      const done = new Promise<void>((resolve) => paid.set(order.orderId, resolve));
      stdin.write(`${JSON.stringify(order)}\n`);
      await done;
      paid.delete(order.orderId);
    },
    async placeOrders(orders, { window = 100, onPaid } = {}) {
      const child = members.find((m) => m.name === 'payments#1')?.child;
      if (!child?.stdin)
        throw new Error('Process set: payments is not running, so it takes no order.');
      const exited = once(child, 'exit').then(([code, signal]) => {
        throw new Error(
          `Process set: payments exited (${signal ?? `code ${code}`}) before every order was paid.`,
        );
      });
      exited.catch(() => undefined); // raced below; a clean run never settles it
      const inFlight = new Set<Promise<void>>();
      for (const order of orders) {
        while (inFlight.size >= window) await Promise.race([...inFlight, exited]);
        const done: Promise<void> = new Promise<void>((resolve) =>
          paid.set(order.orderId, resolve),
        ).then(() => {
          paid.delete(order.orderId);
          inFlight.delete(done);
          onPaid?.(order.orderId);
        });
        inFlight.add(done);
        child.stdin.write(`${JSON.stringify(order)}\n`);
      }
      await Promise.race([Promise.all(inFlight), exited]);
    },
    async kill(name) {
      await terminate(memberNamed(name), 'SIGKILL', 0);
    },
    async restart(name) {
      const member = memberNamed(name);
      if (member.child) throw new Error(`Process set: ${name} is still running; kill it first.`);
      await launch(member);
    },
    stop,
  };
}
