import { describe, expect, it } from 'vitest';
import {
  createBus,
  createInMemoryTransport,
  createWorkflowTracker,
  defineEvent,
  on,
} from '../src/index.js';
import { until } from './test-helpers.js';

const Paid = defineEvent<{ orderId: string }>({ type: 'payment.completed', owner: 'payments' });
const Reserved = defineEvent<{ orderId: string }>({ type: 'stock.reserved', owner: 'inventory' });

describe('workflow tracker timeline', () => {
  it('lists a handled message before what its handler published, in the order the steps began', async () => {
    const transport = createInMemoryTransport();
    const tracker = createWorkflowTracker();
    const observers = [tracker.observe];
    const inventory = createBus({ service: 'inventory', transport, observers });
    await inventory.subscribe({
      handlers: [
        on(Paid, async (m) => {
          await new Promise((resolve) => setTimeout(resolve, 20)); // the handler takes a moment
          await inventory.publish(Reserved, { orderId: m.data.orderId });
        }),
      ],
    });
    const payments = createBus({ service: 'payments', transport, observers });
    await payments.publish(Paid, { orderId: 'o-1' }, { id: 'paid-1' });
    await until(() => tracker.timeline('paid-1').length === 3);
    const steps = tracker.timeline('paid-1');
    expect(steps.map((s) => `${s.service} ${s.action} ${s.type}`)).toEqual([
      'payments published payment.completed',
      'inventory handled payment.completed',
      'inventory published stock.reserved',
    ]);
    expect(steps.map((s) => s.at)).toEqual([...steps.map((s) => s.at)].sort((a, b) => a - b));
    await transport.close();
  });
});
