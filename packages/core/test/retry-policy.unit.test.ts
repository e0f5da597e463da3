// The retry policy on its own: which options it refuses (and how it says so), the delays it
// computes, and how a failure turns into a retry or a dead-letter.
import { describe, expect, it } from 'vitest';
import { createRetryPolicy } from '../src/adapter.js';
import { ConfigurationError, DecodeError, UnavailableError } from '../src/index.js';
import { dispositionForFailure } from '../src/retry-policy.js';

describe('createRetryPolicy options', () => {
  it('uses the documented defaults', () => {
    const policy = createRetryPolicy({ jitter: 0 });
    expect(policy.immediateRetries).toBe(2);
    expect(policy.maxDeliveries).toBe(5);
    expect([1, 2, 3, 4].map((attempt) => policy.delayAfter(attempt))).toEqual([
      1000, 2000, 4000, 8000,
    ]);
    expect(policy.delayAfter(20)).toBe(60_000);
  });

  it.each([
    [
      { immediateRetries: 101 },
      'Retry option immediateRetries is 101: use a number from 0 to 100.',
    ],
    [{ immediateRetries: -1 }, 'Retry option immediateRetries is -1: use a number from 0 to 100.'],
    [{ maxDeliveries: 0 }, 'Retry option maxDeliveries is 0: use a number from 1.'],
    [{ initialDelayMs: -5 }, 'Retry option initialDelayMs is -5: use a number from 0.'],
    [{ multiplier: 0.5 }, 'Retry option multiplier is 0.5: use a number from 1.'],
    [
      { initialDelayMs: 500, maxDelayMs: 100 },
      'Retry option maxDelayMs is 100: use a number from 500.',
    ],
    [{ jitter: 1.5 }, 'Retry option jitter is 1.5: use a number from 0 to 1.'],
    [{ maxDeliveries: Number.NaN }, 'Retry option maxDeliveries is NaN: use a number from 1.'],
  ])('refuses %o with a message naming the option and its range', (options, message) => {
    expect(() => createRetryPolicy(options)).toThrow(ConfigurationError);
    expect(() => createRetryPolicy(options)).toThrow(message);
  });

  it('accepts the bounds themselves', () => {
    const policy = createRetryPolicy({
      immediateRetries: 100,
      maxDeliveries: 1,
      initialDelayMs: 0,
      multiplier: 1,
      maxDelayMs: 0,
      jitter: 1,
    });
    expect(policy.immediateRetries).toBe(100);
    expect(policy.maxDeliveries).toBe(1);
    expect(policy.delayAfter(3)).toBe(0);
  });

  it('spreads each delay over the jitter fraction below the base delay', () => {
    const policy = createRetryPolicy({ initialDelayMs: 1000, multiplier: 3, jitter: 0.5 });
    const delays = Array.from({ length: 200 }, () => policy.delayAfter(2));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(1500);
    expect(Math.max(...delays)).toBeLessThanOrEqual(3000);
    // Spread out, not one fixed value.
    expect(new Set(delays).size).toBeGreaterThan(10);
  });

  it('treats foreign errors and retryable @eda errors as retryable, others not', () => {
    const policy = createRetryPolicy();
    expect(policy.isRetryable(new Error('boom'))).toBe(true);
    expect(policy.isRetryable('a string')).toBe(true);
    expect(policy.isRetryable(new UnavailableError('down'))).toBe(true);
    expect(policy.isRetryable(new DecodeError('bad'))).toBe(false);
    const custom = createRetryPolicy({ isRetryable: () => false });
    expect(custom.isRetryable(new Error('boom'))).toBe(false);
  });
});

describe('dispositionForFailure', () => {
  const policy = createRetryPolicy({ maxDeliveries: 3, initialDelayMs: 100, jitter: 0 });

  it('retries a retryable failure before the last delivery, with the delay and a reason', () => {
    expect(dispositionForFailure(policy, new TypeError('no such field'), 2, 'billing')).toEqual({
      type: 'retry',
      delayMs: 200,
      reason: 'TypeError: no such field',
    });
  });

  it('dead-letters a retryable failure on the last delivery, with what was tried', () => {
    expect(dispositionForFailure(policy, new Error('card declined'), 3, 'billing')).toEqual({
      type: 'dead-letter',
      reason: {
        code: 'EDA_HANDLER',
        errorType: 'Error',
        message: 'card declined',
        attempts: 3,
        subscription: 'billing',
      },
    });
  });

  it('dead-letters a failure that cannot succeed at once, on the first delivery', () => {
    expect(dispositionForFailure(policy, new DecodeError('not JSON'), 1, 'audit')).toEqual({
      type: 'dead-letter',
      reason: {
        code: 'EDA_DECODE',
        errorType: 'DecodeError',
        message: 'not JSON',
        attempts: 1,
        subscription: 'audit',
      },
    });
  });
});
