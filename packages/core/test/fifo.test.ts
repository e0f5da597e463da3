// The in-memory queue's FIFO: order kept across compaction and redelivery.
import { describe, expect, it } from 'vitest';
import { Fifo } from '../src/fifo.js';

describe('Fifo', () => {
  it('keeps first-in first-out order over many items, with items put back in front', () => {
    const fifo = new Fifo<number>();
    for (let i = 0; i < 5000; i++) fifo.push(i);
    const taken: number[] = [];
    for (let i = 0; i < 3000; i++) taken.push(fifo.shift()!);
    expect(taken).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(fifo.length).toBe(2000);
    expect(fifo.peek()).toBe(3000);
    fifo.unshiftAll(new Set([2998, 2999]));
    fifo.push(5000);
    expect(fifo.peek()).toBe(2998);
    expect(fifo.length).toBe(2003);
    const rest: number[] = [];
    for (let item = fifo.shift(); item !== undefined; item = fifo.shift()) rest.push(item);
    expect(rest).toEqual([2998, 2999, ...Array.from({ length: 2001 }, (_, i) => 3000 + i)]);
    expect(fifo.length).toBe(0);
    expect(fifo.shift()).toBeUndefined();
    expect(fifo.peek()).toBeUndefined();
  });
});
