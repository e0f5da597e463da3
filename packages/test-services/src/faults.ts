// Fault hooks: take a service away and bring it back, for tests of reconnects and retries.
// Each hook runs the same bash entry point a person would (scripts/services/*.sh), then waits
// until the service answers a real request again before it resolves.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { KafkaMajor } from './endpoints.js';
import { waitForKafka } from './kafka.js';
import { connectRabbit } from './rabbitmq.js';
import { createRedis } from './redis.js';

const run = promisify(execFile);
const scriptsDir = fileURLToPath(new URL('../../../scripts/services/', import.meta.url));

/**
 * Runs one of the scripts in `scripts/services` with this process's environment and returns
 * what it printed.
 *
 * @throws Error carrying the script's output when it exits non-zero.
 */
export async function runServiceScript(script: string, ...args: string[]): Promise<string> {
  // Every action of these scripts is idempotent (start leaves a running service alone, stop a
  // stopped one), so one retry rides out a transient failure; the first failure is still shown.
  for (let attempt = 1; ; attempt++) {
    try {
      const { stdout } = await run('bash', [scriptsDir + script, ...args], {
        timeout: 180_000,
        maxBuffer: 10 * 1024 * 1024,
      });
      return stdout;
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      const detail =
        `${script} ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`.trim();
      if (attempt < 2) {
        console.warn(`${detail} (retrying once)`);
        continue;
      }
      throw new Error(detail, { cause: error });
    }
  }
}

/** Options for {@link restartKafka}. */
export interface RestartKafkaOptions {
  /** SIGKILL the broker (a crash) instead of a clean SIGTERM shutdown. @default false */
  hard?: boolean;
}

/**
 * Stops the broker of one Kafka line and starts it again on the same data, then waits until a
 * metadata request succeeds. Only for brokers that `pnpm services:up` started.
 */
export async function restartKafka(
  major: KafkaMajor = 4,
  options: RestartKafkaOptions = {},
): Promise<void> {
  await runServiceScript('kafka.sh', options.hard ? 'kill' : 'stop', String(major));
  await startKafka(major);
}

/** Stops the broker of one Kafka line (clean shutdown); its data stays. */
export async function stopKafka(major: KafkaMajor = 4): Promise<void> {
  await runServiceScript('kafka.sh', 'stop', String(major));
}

/** Starts the broker of one Kafka line and waits until a metadata request succeeds. */
export async function startKafka(major: KafkaMajor = 4): Promise<void> {
  await runServiceScript('kafka.sh', 'start', String(major));
  await waitForKafka(major);
}

/** `rabbitmqctl stop_app`: every AMQP connection is closed and the listener goes away. */
export async function stopRabbitApp(): Promise<void> {
  await runServiceScript('rabbitmq.sh', 'stop-app');
}

/** `rabbitmqctl start_app`, then waits until an AMQP connection opens. */
export async function startRabbitApp(): Promise<void> {
  await runServiceScript('rabbitmq.sh', 'start-app');
  await waitForRabbit();
}

/** `rabbitmqctl close_all_connections`: clients see their connection closed by the broker. */
export async function closeRabbitConnections(): Promise<void> {
  await runServiceScript('rabbitmq.sh', 'close-connections');
}

/** Which PostgreSQL connections {@link terminatePostgresBackends} ends. */
export interface PostgresBackendFilter {
  /** Connections whose `application_name` is exactly this. */
  applicationName: string;
}

/**
 * Ends the matching server processes with `pg_terminate_backend`, never the hook's own
 * connection. Clients see error 57P01 (admin_shutdown) or a closed connection.
 *
 * @returns how many connections were ended.
 */
export async function terminatePostgresBackends(filter: PostgresBackendFilter): Promise<number> {
  if (!filter.applicationName)
    throw new Error('terminatePostgresBackends: applicationName must not be empty');
  const out = await runServiceScript('postgres.sh', 'terminate', filter.applicationName);
  return Number.parseInt(out.trim(), 10);
}

/**
 * `SHUTDOWN NOSAVE` and a fresh start of the local Redis, then waits for PING. Redis keeps
 * nothing on disk here, so every key is gone afterwards.
 */
export async function restartRedis(): Promise<void> {
  await runServiceScript('redis.sh', 'restart');
}

/**
 * Closes every Redis connection whose client name is `clientName` (ioredis `connectionName`,
 * `CLIENT SETNAME`), never the hook's own: the owners see their connection reset and
 * reconnect, and nobody else's connection is touched. A direct command rather than a script:
 * it changes no service, it picks connections.
 *
 * @returns how many connections were closed.
 */
export async function killRedisClients(clientName: string): Promise<number> {
  if (!clientName) throw new Error('killRedisClients: clientName must not be empty');
  const redis = createRedis({ connectionName: 'eda-test-services-fault' });
  try {
    const list = String(await redis.client('LIST'));
    const ids = list
      .split('\n')
      .map((line) => Object.fromEntries(line.split(' ').map((field) => field.split('=', 2))))
      .filter((client) => client.name === clientName && client.id)
      .map((client) => String(client.id));
    let closed = 0;
    // By id: a connection that closed meanwhile answers 0, not an error.
    for (const id of ids) closed += Number(await redis.client('KILL', 'ID', id));
    return closed;
  } finally {
    redis.disconnect();
  }
}

/** Stops S3Proxy; its objects stay on disk. */
export async function stopS3(): Promise<void> {
  await runServiceScript('s3proxy.sh', 'stop');
}

/** Starts S3Proxy and waits until the test bucket answers a signed upload and download. */
export async function startS3(): Promise<void> {
  await runServiceScript('s3proxy.sh', 'start');
}

async function waitForRabbit(timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const connection = await connectRabbit('eda-test-services-probe');
      await connection.close();
      return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`RabbitMQ did not accept a connection within ${timeoutMs} ms`, {
          cause: error,
        });
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
}
