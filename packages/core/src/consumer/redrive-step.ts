// A redriven copy names the one subscription it is for (see redrive-headers.ts): every other
// subscription that reads it (other consumer groups of the topic) settles it untouched.
import { REDRIVE_HEADERS } from '../redrive-headers.js';
import type { ConsumeMiddleware } from './consume-context.js';

export function redriveStep(): ConsumeMiddleware {
  return async (context, next) => {
    const target = context.delivery.header?.(REDRIVE_HEADERS.for);
    if (target !== undefined && target !== context.subscription) {
      context.outcome = 'ignored';
      return;
    }
    return next();
  };
}
