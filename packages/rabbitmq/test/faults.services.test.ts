// Faults on the real broker: the RabbitMQ app stopped and started mid-stream, every connection
// closed by the server, and a consumer process killed with SIGKILL mid-message.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createBus, defineCommand, on } from '@eda/core';
import {
  cleanupServices,
  closeRabbitConnections,
  startRabbitApp,
  stopRabbitApp,
} from '@eda/test-services';
import { afterEach, describe, expect, it } from 'vitest';
import { until, useRabbitNamespace } from './rabbit-env.js';

afterEach(cleanupServices);

const Work = defineCommand<{ n: number }>({ type: 'fault.work', owner: 'workers' });

/**
 * Sends `count` commands, a few at a time, while `fault` runs in the middle of the stream, and
 * returns the numbers the consumer handled (duplicates included).
 */
async function streamThrough(fault: () => Promise<void>, count: number) {
  const ns = useRabbitNamespace('faults');
  const errors: unknown[] = [];
  const options = { publishTimeoutMs: 90_000, onError: (e: unknown) => void errors.push(e) };
  const handled: number[] = [];
  await createBus({ service: 'workers', transport: ns.transport(options) }).subscribe({
    concurrency: 8,
    handlers: [
      on(Work, async (m) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        handled.push(m.data.n);
      }),
    ],
  });
  const sender = createBus({ service: 'client', transport: ns.transport(options) });
  const rejected: unknown[] = [];
  let sent = 0;
  const publishing = (async () => {
    for (let n = 0; n < count; n += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, count - n) }, (_, i) =>
          sender.send(Work, { n: n + i }).catch((e: unknown) => void rejected.push(e)),
        ),
      );
      sent = n + 10;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  await until(() => sent >= count / 4, { progress: () => sent });
  await fault();
  await publishing;
  await until(() => new Set(handled).size === count, {
    idleMs: 30_000,
    progress: () => handled.length,
  });
  return { handled, rejected, errors };
}

describe('rabbitmq transport under faults', () => {
  it('loses nothing when the RabbitMQ app is stopped and started with publishers and consumers running', async () => {
    const { handled, rejected, errors } = await streamThrough(async () => {
      await stopRabbitApp();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await startRabbitApp();
    }, 600);
    expect(new Set(handled).size).toBe(600);
    // Publishes during the outage waited for the broker (and unconfirmed ones were sent again).
    expect(rejected).toEqual([]);
    // The transport saw the outage and reported it while it recovered.
    expect(errors.some((e) => /connection (lost|failed)/.test((e as Error).message))).toBe(true);
  });

  it('recovers when the server force-closes every connection mid-stream', async () => {
    const { handled, rejected, errors } = await streamThrough(closeRabbitConnections, 600);
    expect(new Set(handled).size).toBe(600);
    expect(rejected).toEqual([]);
    expect(errors.some((e) => /CONNECTION_FORCED/.test((e as Error).message))).toBe(true);
  });

  it('redelivers the message of a consumer killed with SIGKILL mid-message to another consumer', async () => {
    const ns = useRabbitNamespace('sigkill');
    const fixture = fileURLToPath(new URL('./fixtures/consumer-process.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      ['--conditions=development', '--import', 'tsx', fixture],
      {
        cwd: fileURLToPath(new URL('../../..', import.meta.url)),
        env: { ...process.env, EDA_TEST_PREFIX: ns.prefix, EDA_TEST_TYPE: Work.type },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    try {
      await until(() => output.includes('ready'), { idleMs: 30_000 });
      const sender = createBus({ service: 'client', transport: ns.transport() });
      await sender.send(Work, { n: 1 }, { id: 'kill-me' });
      await until(() => output.includes('received kill-me 1'));
    } finally {
      child.kill('SIGKILL');
    }
    await exited;
    const received: { n: number; attempt: number; id: string }[] = [];
    await createBus({ service: 'workers', transport: ns.transport() }).subscribe({
      handlers: [
        on(
          Work,
          (m, context) => void received.push({ n: m.data.n, attempt: context.attempt, id: m.id }),
        ),
      ],
    });
    await until(() => received.length === 1);
    expect(received).toEqual([{ n: 1, attempt: 2, id: 'kill-me' }]);
  });
});
