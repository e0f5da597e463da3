// The end-to-end crash run: the order flow as separate processes on the real services, orders
// placed through payments, while a seeded plan SIGKILLs relays and consumers and restarts them,
// restarts Kafka and RabbitMQ, terminates the processes' PostgreSQL backends and drops their
// Redis connections. Then it waits until the system is idle and judges the run from the
// services' own ledger. Used by test/crash-run.services.test.ts and by `soak.ts`.
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '@eda/core';
import {
  kafkaClusterBrokers,
  kafkaPartitionLeader,
  killKafkaNode,
  killRedisClients,
  readEndpoints,
  restartKafka,
  startKafkaNode,
  startRabbitApp,
  stopRabbitApp,
  terminatePostgresBackends,
  uniqueName,
} from '@eda/test-services';
import { PaymentCompleted } from '../contracts.js';
import { deleteNamespace } from '../delete-namespace.js';
import { ORDER_END_STATE } from '../ledger.js';
import { openMonitor } from '../processes/monitor.js';
import { startProcessSet } from '../processes/process-set.js';
import {
  ORDER_FLOW_CONSUMERS,
  type OrderRequest,
  type ServiceName,
} from '../processes/services.js';
import { countDeadLetters, type DeadLetterCounts } from './dead-letters.js';
import { attributeDoubles, type DoublesInWindow } from './doubles-window.js';
import { driveFaults, type FaultTally } from './fault-driver.js';
import { planFaults } from './fault-plan.js';
import { checkLedger, type LedgerRow, type LedgerVerdict } from './ledger-check.js';
import { newSeed, seededRandom } from './seeded-random.js';

export interface CrashRunOptions {
  /** Orders to place. Ignored when `durationMs` is set. @default 20000 */
  readonly orders?: number;
  /** Soak: place orders for this long instead of a fixed number, with faults spread over it. */
  readonly durationMs?: number;
  /** Seed of the fault plan (printed; the same seed gives the same plan). @default a new one */
  readonly seed?: number;
  /** How consumers dedupe. @default 'inbox' */
  readonly dedupe?: 'inbox' | 'redis';
  /** Processes per service. @default two of each scalable service */
  readonly instances?: Partial<Record<ServiceName, number>>;
  /** SIGKILLs of relay and consumer processes. @default 12 (soak: one per 15 s) */
  readonly kills?: number;
  /** Rounds of PostgreSQL backend terminations. @default 4 */
  readonly postgresTerminations?: number;
  /** Rounds of Redis connection drops. @default 4 */
  readonly redisDrops?: number;
  /** @default true */
  readonly restartKafka?: boolean;
  /** @default true */
  readonly restartRabbitMq?: boolean;
  /** Invoice size: every invoice is above the claim-check threshold, so each goes through S3. @default 2048 */
  readonly invoiceBytes?: number;
  /** @default 1024 */
  readonly claimCheckThresholdBytes?: number;
  /** Orders payments pays at once. @default 8 */
  readonly paymentsInFlight?: number;
  /** Messages each consumer process handles at once (each holds one of its 5 PostgreSQL connections). @default 4 */
  readonly consumerConcurrency?: number;
  /** Order lines written ahead of their payment. @default 200 */
  readonly window?: number;
  /** Keep the run's topics, queues, schema and objects. @default false */
  readonly keep?: boolean;
  /** Told the run's own lines (plan, faults, phases). @default console.log */
  readonly log?: (line: string) => void;
  /**
   * `single`: the machine's Kafka 4 broker, restarted once. `cluster`: the three-broker cluster
   * of scripts/services/kafka-cluster.sh (started by the caller), whose leader of partition 0 of
   * payment.completed is SIGKILLed once instead and started again 10 s later.
   * @default 'single'
   */
  readonly kafka?: 'single' | 'cluster';
  /** Gives up when nothing moved for this long. @default 120000 */
  readonly noProgressMs?: number;
}

export interface CrashRunReport {
  readonly seed: number;
  readonly dedupe: 'inbox' | 'redis';
  readonly kafka: 'single' | 'cluster';
  readonly namespace: string;
  readonly ordersPlaced: number;
  readonly verdict: LedgerVerdict;
  /** The doubles, split by whether a fault on their service explains them (Redis dedupe's window). */
  readonly doubles: DoublesInWindow;
  /**
   * The most doubles the faults can explain: each consumer SIGKILL and each Redis drop for each
   * consumer process cuts short at most `consumerConcurrency` handlings; each PostgreSQL backend
   * ended, at most one commit.
   */
  readonly doublesBound: number;
  readonly deadLetters: DeadLetterCounts;
  readonly outboxDead: number;
  /** Lines of the processes that reported a dead letter. */
  readonly deadLetteredLines: number;
  /** Deliveries the dedupe skipped as already handled: duplicates that arrived on the wire. */
  readonly duplicatesAbsorbed: number;
  readonly faults: FaultTally;
  readonly unexpectedExits: readonly string[];
  /** Processes that did not stop cleanly at the end. */
  readonly uncleanStops: readonly string[];
  readonly placingMs: number;
  readonly elapsedMs: number;
  /** Every line the processes wrote (quiet: the exceptions only), for a failure's diagnosis. */
  readonly lines: readonly string[];
}

const SCALED: ServiceName[] = ['relay', 'inventory', 'shipping', 'billing', 'notifications'];

function* ordersUntil(stop: (placed: number) => boolean): Generator<OrderRequest> {
  for (let i = 0; !stop(i); i++)
    yield {
      orderId: `order-${i + 1}`,
      amountCents: 1_000 + (i % 9_000),
      lines: [{ sku: ['mug', 'kettle', 'spoon'][i % 3] as string, quantity: 1 + (i % 3) }],
    };
}

export async function runCrashRun(options: CrashRunOptions = {}): Promise<CrashRunReport> {
  const {
    orders = 20_000,
    durationMs,
    seed = newSeed(),
    dedupe = 'inbox',
    instances = Object.fromEntries(SCALED.map((s) => [s, 2])),
    postgresTerminations = 4,
    redisDrops = 4,
    invoiceBytes = 2048,
    claimCheckThresholdBytes = 1024,
    window = 200,
    keep = false,
    log = console.log,
    noProgressMs = 120_000,
    kafka = 'single',
    paymentsInFlight = 8,
    consumerConcurrency = 4,
  } = options;
  const endpoints = readEndpoints();
  if (kafka === 'cluster') endpoints.kafkaBrokers = kafkaClusterBrokers();
  const kills = options.kills ?? (durationMs ? Math.max(1, Math.round(durationMs / 15_000)) : 12);
  const started = Date.now();
  const clock = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`;
  const say = (line: string) => log(`${clock()}  ${line}`);
  const namespace = uniqueName(`crash-${dedupe}`);
  const random = seededRandom(seed);
  say(`crash run: seed ${seed}, dedupe ${dedupe}, namespace ${namespace}`);

  const lines: string[] = [];
  let duplicatesAbsorbed = 0;
  let deadLetteredLines = 0;
  const monitor = await openMonitor(
    namespace,
    (line) => lines.push(`[monitor] ${line}`),
    endpoints,
  );
  const set = await startProcessSet({
    namespace,
    instances,
    env: {
      // The set's PostgreSQL connections carry the namespace, so the run ends only its own.
      PGAPPNAME: namespace,
      EDA_ORDER_FLOW_PROGRESS: 'quiet',
      // Tracing has its own tests; tens of thousands of orders' spans would only load Zipkin.
      EDA_ORDER_FLOW_TRACING: 'off',
      EDA_ORDER_FLOW_DEDUPE: dedupe,
      EDA_ORDER_FLOW_INVOICE_BYTES: String(invoiceBytes),
      EDA_ORDER_FLOW_CLAIM_CHECK_BYTES: String(claimCheckThresholdBytes),
      EDA_KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
      // Throughput on two cores comes from work in parallel, not from shorter chains.
      EDA_ORDER_FLOW_PAYMENTS_IN_FLIGHT: String(paymentsInFlight),
      EDA_ORDER_FLOW_CONCURRENCY: String(consumerConcurrency),
    },
    onLine: (from, line) => {
      if (line.includes('skipped (duplicate)')) duplicatesAbsorbed++;
      if (line.includes('dead-lettered')) deadLetteredLines++;
      lines.push(`${clock()} [${from}] ${line}`);
    },
  }).catch(async (error: unknown) => {
    await monitor.close();
    throw error;
  });

  try {
    const targets = set.names.filter((name) => !name.startsWith('payments'));
    const plan = planFaults(random, {
      targets,
      kills,
      postgresTerminations,
      redisDrops,
      restartKafka: options.restartKafka ?? true,
      restartRabbitMq: options.restartRabbitMq ?? true,
    });
    say(`processes: ${set.names.join(', ')}`);
    say(
      `plan: ${plan.map((f) => `${f.kind === 'kill' ? `kill ${f.target}` : f.kind}@${(f.at * 100).toFixed(0)}%`).join(', ')}`,
    );

    const placedIds: string[] = [];
    // Soak: the duration counts from the first order, not from the processes' start.
    const placingFrom = Date.now();
    const endOfPlacing = durationMs ? placingFrom + durationMs : undefined;
    const feed = ordersUntil((i) => (endOfPlacing ? Date.now() >= endOfPlacing : i >= orders));
    const stepsPerOrder = Object.keys(ORDER_END_STATE).length;
    const countSql = `select count(*)::int as n from "${monitor.schema}".ledger`;
    // Fixed count: the share of every effect applied. Soak: the share of the duration gone.
    const progress = async () => {
      if (endOfPlacing) return Math.min(1, (Date.now() - placingFrom) / (durationMs as number));
      const { rows } = await monitor.pool.query(countSql);
      return (rows[0] as { n: number }).n / (orders * stepsPerOrder);
    };
    const restartKafkaOnce =
      kafka === 'cluster'
        ? async () => {
            const topic = monitor.events.topicFor(PaymentCompleted.type);
            const leader = await kafkaPartitionLeader(topic, 0);
            say(`SIGKILL Kafka node ${leader}, the leader of ${topic} partition 0`);
            await killKafkaNode(leader);
            await sleep(10_000); // the run goes on with two of three brokers (min.insync.replicas 2)
            await startKafkaNode(leader);
            say(
              `Kafka node ${leader} is back; ${topic} partition 0 is led by ${await kafkaPartitionLeader(topic, 0)}`,
            );
          }
        : () => restartKafka(4);
    const faultsDone = driveFaults({
      plan,
      progress,
      log: say,
      noProgressMs,
      consumerServices: ORDER_FLOW_CONSUMERS.map((c) => c.name),
      actions: {
        kill: (name) => set.kill(name),
        restart: (name) => set.restart(name),
        restartKafka: restartKafkaOnce,
        restartRabbitMq: async () => {
          await stopRabbitApp();
          await startRabbitApp();
        },
        terminatePostgres: () => terminatePostgresBackends({ applicationName: namespace }),
        dropRedis: () => killRedisClients(namespace),
      },
    });
    faultsDone.catch(() => undefined); // awaited below; a placing failure may come first
    say(`placing orders (${durationMs ? `for ${durationMs / 1000} s` : orders}), ${window} ahead`);
    await set.placeOrders(feed, {
      window,
      onPaid: (orderId) => {
        placedIds.push(orderId);
        if (placedIds.length % 5000 === 0) say(`${placedIds.length} orders paid`);
      },
    });
    const placingMs = Date.now() - started;
    say(`placed ${placedIds.length} orders in ${(placingMs / 1000).toFixed(1)} s`);
    const faults = await faultsDone;
    say('every planned fault done; waiting until the system is idle');
    // A killed Kafka member holds its partitions until its session ends (30 s) and the group
    // rebalances: no movement for that long is failover, not a stall.
    const idle = await monitor.probe.waitForIdle({ noProgressMs, quietMs: 3000 });
    say(`idle: outbox ${JSON.stringify(idle.outbox)}`);

    const { rows } = await monitor.pool.query(
      `select seq, service, order_id as "orderId", effect,
        extract(epoch from recorded_at) * 1000 as at from "${monitor.schema}".ledger`,
    );
    const verdict = checkLedger(rows as LedgerRow[], placedIds);
    const doubles = attributeDoubles(verdict.doubled, faults.timeline);
    const consumerProcesses = set.names.filter((n) => !/^(payments|relay)#/.test(n));
    const consumerKills = Object.entries(faults.kills)
      .filter(([name]) => consumerProcesses.includes(name))
      .reduce((sum, [, n]) => sum + n, 0);
    const doublesBound =
      consumerConcurrency * (consumerKills + faults.redisRounds * consumerProcesses.length) +
      faults.postgresConnections;
    const deadLetters = await countDeadLetters(
      monitor.events,
      monitor.commands,
      ORDER_FLOW_CONSUMERS,
    );
    const outboxDead = (await monitor.outbox.counts()).dead;
    const uncleanStops = await set.stop();
    return {
      seed,
      dedupe,
      kafka,
      namespace,
      ordersPlaced: placedIds.length,
      verdict,
      doubles,
      doublesBound,
      deadLetters,
      outboxDead,
      deadLetteredLines,
      duplicatesAbsorbed,
      faults,
      unexpectedExits: [...set.unexpectedExits],
      uncleanStops,
      placingMs,
      elapsedMs: Date.now() - started,
      lines,
    };
  } catch (error) {
    // The processes' lines tell why: the last ones go with the error.
    log(lines.slice(-200).join('\n'));
    throw error;
  } finally {
    await set.stop();
    await monitor.close();
    // Best effort: the verdict is made, and a namespace left behind is harmless (unique names).
    // In run-g the broker was electing a leader when the 20,000-order run ended, and this
    // cleanup's error replaced the run's result.
    if (!keep)
      await deleteNamespace(namespace).catch((error: unknown) =>
        log(`could not delete namespace ${namespace}: ${describeError(error).message}`),
      );
  }
}
