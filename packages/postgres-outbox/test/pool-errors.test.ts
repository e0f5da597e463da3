// The shared pool 'error' listener: attached once per pool, forwarding to every onError given,
// a console warning when none was.
import { EventEmitter } from 'node:events';
import { EdaError } from '@eda/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createPostgresIdempotencyStore, createPostgresOutboxStore } from '../src/index.js';
import { watchPoolErrors } from '../src/pool-errors.js';

const terminated = Object.assign(new Error('terminating connection due to administrator command'), {
  code: '57P01',
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('pool error listener', () => {
  it('attaches one listener per pool, whatever the number of parts using it, and forwards to each onError', () => {
    const pool = Object.assign(new EventEmitter(), {
      query: async () => ({ rows: [], rowCount: 0 }),
    });
    const seen: unknown[][] = [[], []];
    createPostgresOutboxStore({ pool, notifications: false, onError: (e) => seen[0]!.push(e) });
    createPostgresIdempotencyStore({ pool, onError: (e) => seen[1]!.push(e) });
    watchPoolErrors(pool);
    expect(pool.listenerCount('error')).toBe(1);
    pool.emit('error', terminated);
    for (const errors of seen) {
      expect(errors).toHaveLength(1);
      expect(EdaError.isInstance(errors[0]) && errors[0].code).toBe('EDA_UNAVAILABLE');
      expect((errors[0] as Error).message).toMatch(/57P01 terminating connection/);
      expect((errors[0] as Error).cause).toBe(terminated);
    }
  });

  it('warns on the console when no onError was given, and stops forwarding to a closed store', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const pool = Object.assign(new EventEmitter(), {
      query: async () => ({ rows: [], rowCount: 0 }),
    });
    const seen: unknown[] = [];
    const store = createPostgresOutboxStore({
      pool,
      notifications: false,
      onError: (e) => seen.push(e),
    });
    await store.close();
    pool.emit('error', terminated);
    expect(seen).toEqual([]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/failed while idle .*57P01.*Pass onError/);
  });
});
