// What the crash run does to the system, and when: drawn once from the seed, as points of the
// run's progress (0 = start, 1 = every effect applied), so the same seed gives the same plan on a
// fast or a slow machine.
import type { SeededRandom } from './seeded-random.js';

export type Fault =
  /** SIGKILL a process, start it again `downMs` later. */
  | { readonly kind: 'kill'; readonly at: number; readonly target: string; readonly downMs: number }
  /** Restart the Kafka broker (the Kafka 4 line). */
  | { readonly kind: 'restart-kafka'; readonly at: number }
  /** Stop and start the RabbitMQ application (every AMQP connection closes). */
  | { readonly kind: 'restart-rabbitmq'; readonly at: number }
  /** pg_terminate_backend for every connection of the set's processes. */
  | { readonly kind: 'terminate-postgres'; readonly at: number }
  /** CLIENT KILL for every Redis connection of the set's processes. */
  | { readonly kind: 'drop-redis'; readonly at: number };

export interface FaultPlanOptions {
  /** Processes that may be SIGKILLed (relays and consumers). */
  readonly targets: readonly string[];
  /** SIGKILLs over the run. */
  readonly kills: number;
  /** Rounds of PostgreSQL backend terminations. */
  readonly postgresTerminations: number;
  /** Rounds of Redis connection drops. */
  readonly redisDrops: number;
  /** Restart the Kafka broker once. */
  readonly restartKafka: boolean;
  /** Restart RabbitMQ once. */
  readonly restartRabbitMq: boolean;
  /** How long a killed process stays down, at most. @default 4000 */
  readonly maxDownMs?: number;
  /** Faults fall between these points of the run. @default [0.05, 0.85] */
  readonly window?: readonly [number, number];
}

/** The faults of a run, in the order they happen. */
export function planFaults(random: SeededRandom, options: FaultPlanOptions): Fault[] {
  const { targets, kills, postgresTerminations, redisDrops, maxDownMs = 4000 } = options;
  const [from, to] = options.window ?? [0.05, 0.85];
  const at = () => random.between(from, to);
  const faults: Fault[] = [];
  if (kills > 0 && targets.length === 0) throw new Error('planFaults: kills need targets.');
  for (let i = 0; i < kills; i++)
    faults.push({
      kind: 'kill',
      at: at(),
      target: random.pick(targets),
      downMs: Math.round(random.between(200, maxDownMs)),
    });
  for (let i = 0; i < postgresTerminations; i++)
    faults.push({ kind: 'terminate-postgres', at: at() });
  for (let i = 0; i < redisDrops; i++) faults.push({ kind: 'drop-redis', at: at() });
  if (options.restartKafka) faults.push({ kind: 'restart-kafka', at: at() });
  if (options.restartRabbitMq) faults.push({ kind: 'restart-rabbitmq', at: at() });
  return faults.sort((a, b) => a.at - b.at);
}
