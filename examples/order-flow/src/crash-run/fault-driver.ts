// Carries out a fault plan while the run goes on: each fault when the run's progress reaches its
// point. A killed process starts again after its down time while the plan goes on; a process
// planned to be killed while it is still down is killed once it is back.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Fault } from './fault-plan.js';

export interface FaultActions {
  kill(name: string): Promise<void>;
  restart(name: string): Promise<void>;
  restartKafka(): Promise<void>;
  restartRabbitMq(): Promise<void>;
  /** Returns how many connections were ended. */
  terminatePostgres(): Promise<number>;
  /** Returns how many connections were closed. */
  dropRedis(): Promise<number>;
}

/** What was done, for the report. */
export interface FaultTally {
  /** SIGKILLs per process. */
  readonly kills: Record<string, number>;
  kafkaRestarts: number;
  rabbitMqRestarts: number;
  postgresRounds: number;
  postgresConnections: number;
  redisRounds: number;
  redisConnections: number;
  /** When each fault that could cut a consumer's handling short happened, and whom it hit. */
  readonly timeline: FaultMoment[];
}

/** A fault that could leave a handled message without its dedupe completion. */
export interface FaultMoment {
  /** Epoch ms. */
  readonly at: number;
  /** When it was over (a broker back), for a fault that lasted. @default at */
  readonly until?: number;
  readonly fault: string;
  /** Services whose processes it hit, such as `inventory`. */
  readonly services: readonly string[];
  /**
   * `window`: a consumer killed or cut off from Redis between its effect and the completion (the
   * redis-dedupe README's window). `commit`: a PostgreSQL backend ended after the effect's
   * COMMIT and before the client heard it, so the handling failed and ran again.
   */
  readonly kind: 'window' | 'commit';
}

export interface FaultDriverOptions {
  readonly plan: readonly Fault[];
  readonly actions: FaultActions;
  /** The run's progress, from 0 to 1. */
  readonly progress: () => Promise<number>;
  /** Told each fault as it happens. */
  readonly log: (line: string) => void;
  /** Services whose processes a Redis drop hits (the consumers). */
  readonly consumerServices?: readonly string[];
  /** Gives up when progress has not moved for this long before a fault's point. @default 120000 */
  readonly noProgressMs?: number;
  /** @default 500 */
  readonly pollMs?: number;
}

/** `inventory` for `inventory#2`. */
const serviceOf = (processName: string) => processName.split('#')[0] as string;

export const totalKills = (tally: FaultTally) =>
  Object.values(tally.kills).reduce((a, b) => a + b, 0);

/** Runs the plan; resolves once every fault is done and every killed process runs again. */
export async function driveFaults(options: FaultDriverOptions): Promise<FaultTally> {
  const { plan, actions, progress, log, noProgressMs = 120_000, pollMs = 500 } = options;
  const consumerServices = options.consumerServices ?? [];
  const tally: FaultTally = {
    kills: {},
    kafkaRestarts: 0,
    rabbitMqRestarts: 0,
    postgresRounds: 0,
    postgresConnections: 0,
    redisRounds: 0,
    redisConnections: 0,
    timeline: [],
  };
  /** Restarts under way, per process. */
  const down = new Map<string, Promise<void>>();

  const reach = async (point: number) => {
    let last = -1;
    let lastChange = Date.now();
    for (;;) {
      const now = await progress();
      if (now >= point) return now;
      if (now !== last) [last, lastChange] = [now, Date.now()];
      else if (Date.now() - lastChange > noProgressMs)
        throw new Error(
          `Crash run: no progress for ${noProgressMs} ms at ${(now * 100).toFixed(1)}% while waiting to inject a fault at ${(point * 100).toFixed(1)}%.`,
        );
      await sleep(pollMs);
    }
  };

  const kill = async (target: string, downMs: number) => {
    await down.get(target);
    await actions.kill(target);
    tally.kills[target] = (tally.kills[target] ?? 0) + 1;
    tally.timeline.push({
      at: Date.now(),
      fault: `SIGKILL ${target}`,
      services: [serviceOf(target)],
      kind: 'window',
    });
    const back = sleep(downMs)
      .then(() => actions.restart(target))
      .finally(() => down.delete(target));
    down.set(target, back);
  };

  // Not on the timeline: handlers write what they publish to the outbox in their effect's
  // transaction, so a broker restart cannot fail a handling after its effect.
  const restartBroker = async (where: string, broker: string, restart: () => Promise<void>) => {
    log(`${where}: restarting ${broker}`);
    await restart();
    log(`${broker} is back`);
  };

  for (const fault of plan) {
    const now = await reach(fault.at);
    const where = `at ${(now * 100).toFixed(1)}%`;
    switch (fault.kind) {
      case 'kill':
        await kill(fault.target, fault.downMs);
        log(`${where}: SIGKILLed ${fault.target}, back in ${fault.downMs} ms`);
        break;
      case 'restart-kafka':
        await restartBroker(where, 'Kafka', actions.restartKafka);
        tally.kafkaRestarts++;
        break;
      case 'restart-rabbitmq':
        await restartBroker(where, 'RabbitMQ', actions.restartRabbitMq);
        tally.rabbitMqRestarts++;
        break;
      case 'terminate-postgres': {
        const at = Date.now();
        const ended = await actions.terminatePostgres();
        tally.timeline.push({
          at,
          until: Date.now(),
          fault: `PostgreSQL: ${ended} backends ended`,
          services: consumerServices,
          kind: 'commit',
        });
        tally.postgresRounds++;
        tally.postgresConnections += ended;
        log(`${where}: terminated ${ended} PostgreSQL backends of the set`);
        break;
      }
      case 'drop-redis': {
        const closed = await actions.dropRedis();
        tally.timeline.push({
          at: Date.now(),
          fault: 'Redis drop',
          services: consumerServices,
          kind: 'window',
        });
        tally.redisRounds++;
        tally.redisConnections += closed;
        log(`${where}: closed ${closed} Redis connections of the set`);
        break;
      }
    }
  }
  await Promise.all(down.values());
  return tally;
}
