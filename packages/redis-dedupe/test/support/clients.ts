// Real ioredis clients for the services tests, built the way the README recommends (fail fast
// while Redis is down), and closed after each test.
import { createRedis } from '@eda/test-services';
import { Redis, type RedisOptions } from 'ioredis';

const open = new Set<Redis>();

/** The client options the README recommends for a dedupe store. */
export const failFastOptions: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  // No commandTimeout: the store's timeoutMs bounds each call (see the README).
  // Reconnect quickly in tests so recovery is observed soon after the fault ends.
  retryStrategy: (attempt) => Math.min(50 * attempt, 500),
};

/** Opens a client to EDA_REDIS_URL (or to `options.port`, such as a proxy) and waits until it is ready. */
export async function connect(options: RedisOptions = {}): Promise<Redis> {
  const merged = { ...failFastOptions, lazyConnect: true, ...options };
  // A URL given to ioredis wins over host and port options, so a proxy port needs its own client.
  const client =
    options.port === undefined
      ? createRedis(merged)
      : new Redis({ ...merged, replyMapping: 'legacy' });
  // Connection errors are expected in fault tests; the store reports them per call.
  client.on('error', () => undefined);
  open.add(client);
  await client.connect();
  return client;
}

/** Waits until `client` is ready again (after a restart or a dropped connection). */
export async function ready(client: Redis, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (client.status !== 'ready') {
    if (Date.now() > deadline) throw new Error(`Redis client still ${client.status}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Closes every client opened by `connect`. */
export function closeClients(): void {
  const clients = [...open];
  open.clear();
  // disconnect, not quit: a client cut off by a fault test would wait forever for QUIT's reply.
  for (const client of clients) client.disconnect();
}

/** Polls `probe` until it returns a value that is not undefined; an idle timeout, not an assertion. */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
