// The shared deadline timer and the time limit built on it.
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { createDeadlines, createTimeLimit, type Deadline } from '../src/deadlines.js';

describe('deadlines', () => {
  it('expires each unanswered call at its own deadline with one shared timer, skipping answered ones', async () => {
    const deadlines = createDeadlines(40);
    const expired: string[] = [];
    const watch = (name: string): Deadline => {
      const deadline: Deadline = {
        at: performance.now() + 40,
        settled: false,
        expire() {
          deadline.settled = true;
          expired.push(`${name}@${Math.round(performance.now() - started)}`);
        },
      };
      deadlines.watch(deadline);
      return deadline;
    };
    const started = performance.now();
    const answered = watch('answered');
    const first = watch('first');
    answered.settled = true;
    await new Promise((resolve) => setTimeout(resolve, 20));
    watch('second');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(expired.map((e) => e.split('@')[0])).toEqual(['first', 'second']);
    const [firstAt, secondAt] = expired.map((e) => Number(e.split('@')[1]));
    expect(firstAt).toBeGreaterThanOrEqual(39);
    expect(secondAt).toBeGreaterThanOrEqual(59);
    expect(first.settled).toBe(true);
  });

  it('arms one timer for many calls in flight, not one per call', async () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const limit = createTimeLimit(1000, (what) => new Error(`no answer to ${what}`));
    const answers = Array.from({ length: 50 }, (_, i) => limit(Promise.resolve(i), `call ${i}`));
    const timers = setTimeoutSpy.mock.calls.length;
    setTimeoutSpy.mockRestore();
    expect(timers).toBe(1);
    expect(await Promise.all(answers)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('time limit: passes answers and errors through, rejects an unanswered promise at its deadline', async () => {
    const limit = createTimeLimit(30, (what) => new Error(`no answer to ${what}`));
    expect(await limit(Promise.resolve(7), 'a quick call')).toBe(7);
    await expect(limit(Promise.reject(new Error('refused')), 'a refused call')).rejects.toThrow(
      'refused',
    );
    const started = performance.now();
    let answer!: (value: number) => void;
    const slow = limit(new Promise<number>((resolve) => (answer = resolve)), 'a slow call');
    await expect(slow).rejects.toThrow('no answer to a slow call');
    expect(performance.now() - started).toBeGreaterThanOrEqual(29);
    answer(1); // a late answer changes nothing
    await expect(slow).rejects.toThrow('no answer to a slow call');
  });

  it('does not expire a call whose answer is already waiting behind a busy event loop', async () => {
    const limit = createTimeLimit(20, (what) => new Error(`no answer to ${what}`));
    // A loopback socket pair: a write lands in the peer's kernel buffer at once, so the answer
    // is waiting for the poll phase, which the event loop reaches only after overdue timers.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const peer = await accepted;
    try {
      for (let round = 0; round < 5; round++) {
        const answer = new Promise<string>((resolve) =>
          peer.once('data', (chunk) => resolve(String(chunk))),
        );
        const bounded = limit(answer, 'a reply');
        client.write(`reply ${round}`);
        const busyUntil = performance.now() + 60; // busy past the deadline
        while (performance.now() < busyUntil);
        await expect(bounded, `round ${round}`).resolves.toBe(`reply ${round}`);
      }
    } finally {
      client.destroy();
      peer.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
