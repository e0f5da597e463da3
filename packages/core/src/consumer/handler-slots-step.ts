// Bounds how many deliveries run their handler at once when the subscription takes more
// deliveries from the transport than that (`prefetch` above `concurrency`): the steps before
// this one (decoding, routing, the dedupe claim) run for waiting deliveries while handlers are
// busy, so a claim's round trip overlaps other messages' handlers instead of adding to each
// message's time in a handler slot. Slots are granted in arrival order.
import type { ConsumeMiddleware } from './consume-context.js';

export function handlerSlotsStep(slots: number): ConsumeMiddleware {
  let free = slots;
  const waiting: Array<() => void> = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else free += 1;
  };
  return async (_context, next) => {
    if (free > 0) free -= 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      await next();
    } finally {
      release();
    }
  };
}
