// Compile-time guarantees of message definitions. `pnpm typecheck` fails if a line marked as an
// expected error compiles; vitest runs the expectTypeOf checks too.
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  createBus,
  createInMemoryTransport,
  defineCommand,
  defineEvent,
  on,
  type ReceivedMessage,
} from '../src/index.js';

const PaymentCompleted = defineEvent({
  type: 'payment.completed',
  owner: 'payments',
  schema: z.object({ orderId: z.string(), amountCents: z.number() }),
});
const ShipOrder = defineCommand<{ orderId: string }>({ type: 'ship.order', owner: 'shipping' });

describe('message definition types', () => {
  const bus = createBus({ service: 'payments', transport: createInMemoryTransport() });

  it('infers data types from the schema or the type argument', () => {
    expectTypeOf(on(PaymentCompleted, () => undefined).handler)
      .parameter(0)
      .toEqualTypeOf<ReceivedMessage<{ orderId: string; amountCents: number }>>();
    expectTypeOf(on(ShipOrder, () => undefined).handler)
      .parameter(0)
      .toEqualTypeOf<ReceivedMessage<{ orderId: string }>>();
  });

  it('rejects wrong data, wrong handlers and the wrong kind at compile time', () => {
    // Compile-time only: the closure is never run.
    const compileOnly = () => {
      void bus.publish(PaymentCompleted, { orderId: 'o-1', amountCents: 5 });
      // @ts-expect-error amountCents must be a number
      void bus.publish(PaymentCompleted, { orderId: 'o-1', amountCents: '5' });
      // @ts-expect-error orderId is missing
      void bus.publish(PaymentCompleted, { amountCents: 5 });
      // @ts-expect-error a command cannot be published as an event
      void bus.publish(ShipOrder, { orderId: 'o-1' });
      // @ts-expect-error an event cannot be sent as a command
      void bus.send(PaymentCompleted, { orderId: 'o-1', amountCents: 5 });
      // @ts-expect-error the handler reads a field the event does not have
      on(PaymentCompleted, ({ data }) => data.sku.toUpperCase());
      const wrongHandler = (message: ReceivedMessage<{ trackingNumber: number }>) => message;
      // @ts-expect-error the handler expects other data
      on(ShipOrder, wrongHandler);
    };
    expectTypeOf(compileOnly).toBeFunction();
  });
});
