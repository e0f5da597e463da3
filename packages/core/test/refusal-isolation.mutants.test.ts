// Isolating refused records in a claimed batch: which records are published, refused, held
// behind their aggregate or left untried, and how many broker calls that costs.
import { describe, expect, it } from 'vitest';
import type { OutboxRecord } from '../src/adapter.js';
import { createInMemoryTransport, type OutgoingMessage, type Transport } from '../src/index.js';
import { publishIsolatingRefusals } from '../src/outbox/refusal-isolation.js';

/** A record whose message id is its name; `key` is its aggregate (partition key). */
function record(id: string, key?: string, kind: 'event' | 'command' = 'event'): OutboxRecord {
  return {
    recordId: id,
    attempts: 0,
    message: {
      attributes: {
        id,
        type: 'order.placed',
        source: 'orders',
        specversion: '1.0',
        kind,
        ...(key === undefined ? {} : { partitionkey: key }),
      },
      body: new Uint8Array(0),
    },
  };
}

/** A broker refusing any call that holds a refused id; it logs each call as `publish:a,b` or `send:a`. */
function broker(refuse: (id: string) => boolean) {
  const calls: string[] = [];
  const call = (method: string) => async (messages: readonly OutgoingMessage[]) => {
    const ids = messages.map((m) => m.attributes.id);
    calls.push(`${method}:${ids.join(',')}`);
    if (ids.some(refuse)) throw new Error(`refused ${ids.join(',')}`);
  };
  const transport: Transport = {
    ...createInMemoryTransport(),
    publish: call('publish'),
    send: call('send'),
  };
  return { transport, calls };
}

const ids = (records: readonly OutboxRecord[]) => records.map((r) => r.recordId);
const later = () => Date.now() + 60_000;

describe('publishIsolatingRefusals', () => {
  it('publishes a batch the broker accepts in one call', async () => {
    const { transport, calls } = broker(() => false);
    const result = await publishIsolatingRefusals(
      [record('a', 'A'), record('b', 'B')],
      transport,
      later(),
    );
    expect(ids(result.published)).toEqual(['a', 'b']);
    expect(result.refused).toEqual([]);
    expect(result.blocked).toEqual([]);
    expect(result.untried).toEqual([]);
    expect(calls).toEqual(['publish:a,b']);
  });

  it('sends each run of one kind in its own call, in claim order: events published, commands sent', async () => {
    const { transport, calls } = broker(() => false);
    const result = await publishIsolatingRefusals(
      [
        record('e1'),
        record('e2'),
        record('c1', undefined, 'command'),
        record('c2', undefined, 'command'),
        record('e3'),
      ],
      transport,
      later(),
    );
    expect(calls).toEqual(['publish:e1,e2', 'send:c1,c2', 'publish:e3']);
    expect(ids(result.published)).toEqual(['e1', 'e2', 'c1', 'c2', 'e3']);
  });

  it('splits a refused call into halves, the larger half first, down to the refused record', async () => {
    const { transport, calls } = broker((id) => id === 'c');
    const result = await publishIsolatingRefusals(
      ['a', 'b', 'c', 'd', 'e'].map((id) => record(id, id)),
      transport,
      later(),
    );
    expect(calls).toEqual([
      'publish:a,b,c,d,e',
      'publish:a,b,c',
      'publish:a,b',
      'publish:c',
      'publish:d,e',
    ]);
    expect(ids(result.published)).toEqual(['a', 'b', 'd', 'e']);
    expect(result.refused.map((r) => r.record.recordId)).toEqual(['c']);
    expect(String(result.refused[0]?.error)).toBe('Error: refused c');
  });

  it('holds the later records of a refused aggregate back, and only those', async () => {
    const { transport } = broker((id) => id === 'a1');
    const result = await publishIsolatingRefusals(
      [record('a1', 'A'), record('b1', 'B'), record('a2', 'A'), record('n1'), record('a3', 'A')],
      transport,
      later(),
    );
    expect(result.refused.map((r) => r.record.recordId)).toEqual(['a1']);
    expect(ids(result.blocked)).toEqual(['a2', 'a3']);
    expect(ids(result.published)).toEqual(['b1', 'n1']);
    expect(result.untried).toEqual([]);
  });

  it('a refused record without an aggregate holds nothing back', async () => {
    const { transport } = broker((id) => id === 'x');
    const result = await publishIsolatingRefusals(
      [record('x'), record('y'), record('z')],
      transport,
      later(),
    );
    expect(ids(result.published)).toEqual(['y', 'z']);
    expect(result.blocked).toEqual([]);
  });

  it('treats a broker that refuses two records on their own before accepting any as down: the rest is untried', async () => {
    const { transport, calls } = broker(() => true);
    const records = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((id) => record(id, id));
    const result = await publishIsolatingRefusals(records, transport, later());
    expect(result.refused.map((r) => r.record.recordId)).toEqual(['a', 'b']);
    expect(ids(result.untried)).toEqual(['c', 'd', 'e', 'f', 'g', 'h']);
    expect(result.published).toEqual([]);
    // The whole batch, then halves down to a and b: no call for anything after them.
    expect(calls).toEqual([
      'publish:a,b,c,d,e,f,g,h',
      'publish:a,b,c,d',
      'publish:a,b',
      'publish:a',
      'publish:b',
    ]);
  });

  it('one lone refusal is not an outage: the next records are still tried', async () => {
    const { transport } = broker((id) => id === 'a' || id === 'c');
    const result = await publishIsolatingRefusals(
      ['a', 'b', 'c', 'd'].map((id) => record(id, id)),
      transport,
      later(),
    );
    expect(result.refused.map((r) => r.record.recordId)).toEqual(['a', 'c']);
    expect(ids(result.published)).toEqual(['b', 'd']);
    expect(result.untried).toEqual([]);
  });

  it('keeps isolating after something was accepted, however many records are refused', async () => {
    const { transport } = broker((id) => id !== 'a');
    const result = await publishIsolatingRefusals(
      ['a', 'b', 'c', 'd'].map((id) => record(id, id)),
      transport,
      later(),
    );
    expect(ids(result.published)).toEqual(['a']);
    expect(result.refused.map((r) => r.record.recordId)).toEqual(['b', 'c', 'd']);
    expect(result.untried).toEqual([]);
  });

  it('an outage stops isolation across runs too: a later run of commands is untried, a refused aggregate still blocked', async () => {
    const { transport, calls } = broker(() => true);
    const result = await publishIsolatingRefusals(
      [
        record('a', 'A'),
        record('b', 'B'),
        record('c1', 'C', 'command'),
        record('a2', 'A', 'command'),
      ],
      transport,
      later(),
    );
    expect(ids(result.untried)).toEqual(['c1']);
    expect(ids(result.blocked)).toEqual(['a2']);
    expect(calls).toEqual(['publish:a,b', 'publish:a', 'publish:b']);
  });

  it('sends nothing once the deadline has passed: every record is untried', async () => {
    const { transport, calls } = broker(() => false);
    const result = await publishIsolatingRefusals(
      [record('a', 'A'), record('b', 'B')],
      transport,
      Date.now() - 1,
    );
    expect(ids(result.untried)).toEqual(['a', 'b']);
    expect(result.published).toEqual([]);
    expect(calls).toEqual([]);
  });

  it('returns an empty result for an empty batch without calling the broker', async () => {
    const { transport, calls } = broker(() => false);
    const result = await publishIsolatingRefusals([], transport, later());
    expect(result).toEqual({ published: [], refused: [], blocked: [], untried: [] });
    expect(calls).toEqual([]);
  });
});
