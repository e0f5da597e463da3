import { describe, expect, it } from 'vitest';
import {
  createBus,
  createCompositeTransport,
  createInMemoryTransport,
  defineCommand,
  defineEvent,
  on,
  type Transport,
} from '../src/index.js';
import { until } from './test-helpers.js';

const Happened = defineEvent<{ n: number }>({ type: 'thing.happened', owner: 'a' });
const DoThing = defineCommand<{ n: number }>({ type: 'thing.do', owner: 'b' });

describe('composite transport', () => {
  it('sends events to the events transport and commands to the commands transport', async () => {
    const log = createInMemoryTransport();
    const queues = createInMemoryTransport();
    const transport = createCompositeTransport({ events: log, commands: queues });
    const got: string[] = [];
    await createBus({ service: 'b', transport }).subscribe({
      handlers: [
        on(Happened, () => void got.push('event')),
        on(DoThing, () => void got.push('command')),
      ],
    });
    await createBus({ service: 'a', transport }).publish(Happened, { n: 1 });
    await createBus({ service: 'a', transport }).send(DoThing, { n: 2 });
    await until(() => got.length === 2);
    expect(log.broker.topic('thing.happened').partitions.flat()).toHaveLength(1);
    expect(log.broker.topic('thing.do').partitions.flat()).toHaveLength(0);
    expect(queues.broker.topic('thing.happened').partitions.flat()).toHaveLength(0);
    // The command subscription went to the commands transport (had it gone to the events
    // transport, send and subscribe could meet there and the handler would still run).
    expect(queues.broker.queue('thing.do').owner).toBe('b');
    expect(log.broker.queue('thing.do').owner).toBeUndefined();
    expect(transport.name).toBe('memory+memory');
    await transport.close();
  });

  it('refuses a commands transport that cannot give a command one owner', () => {
    const log = createInMemoryTransport();
    const logOnly: Transport = {
      ...log,
      name: 'log-only',
      capabilities: { ...log.capabilities, commands: false },
    };
    expect(() => createCompositeTransport({ events: log, commands: logOnly })).toThrow(
      /cannot give commands a single owner/,
    );
  });
});
