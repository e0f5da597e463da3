// Transport case about command ownership: a command queue has exactly one owner.
import { defineCommand, EdaError, on } from '@eda/core';
import { expect } from 'vitest';
import { expectEdaError } from '../eda-error.js';
import { createInbox } from '../inbox.js';
import type { Numbered } from './delivery-cases.js';
import type { TransportCase } from './transport-setup.js';

/** Another service cannot consume a command queue that already has an owner. */
export const commandOwnershipCase: TransportCase = {
  name: 'ownership: a command queue owned by one service refuses a subscription under another name',
  requires: ['commands'],
  async run(context) {
    const ownerName = context.name('owner');
    const intruderName = context.name('intruder');
    const ShipOrder = defineCommand<Numbered>({
      type: context.name('contract.ship'),
      owner: ownerName,
    });
    const ownerClient = await context.connect();
    const intruderClient = await context.connect();
    const handled = createInbox<number>();
    await context
      .bus({ service: ownerName, transport: ownerClient })
      .subscribe({ handlers: [on(ShipOrder, (m) => void handled.push(m.data.n))] });
    await expectEdaError(
      context.bus({ service: intruderName, transport: intruderClient }).subscribe({
        handlers: [on(ShipOrder, () => undefined)],
      }),
      'EDA_OWNERSHIP',
      'a bus of another service subscribing to the command',
    );
    let stolen = 0;
    const attempt = intruderClient.subscribe(
      { name: intruderName, kind: 'command', types: [ShipOrder.type] },
      async () => {
        stolen += 1;
        return { type: 'ack' };
      },
    );
    const error = await attempt.then(
      async (subscription) => {
        await subscription.close();
        return undefined;
      },
      (caught: unknown) => caught,
    );
    expect(error, 'the transport refuses a second owner of the queue').toBeDefined();
    expect(EdaError.isInstance(error) && error.code, 'error code').toBe('EDA_CONFIGURATION');
    await context
      .bus({ service: context.name('sender'), transport: intruderClient })
      .send(ShipOrder, { n: 1 });
    await handled.until((items) => items.includes(1), {
      idleMs: context.idleMs,
      description: 'the owner to handle the command',
    });
    expect(stolen).toBe(0);
  },
};
