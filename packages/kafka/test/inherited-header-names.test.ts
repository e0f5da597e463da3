// Headers named like inherited object members (`constructor`, `hasOwnProperty`, `__proto__`):
// kafkajs decodes them as arrays that start with the inherited member. Before the fix such a
// record could not be dead-lettered (the copy carried a function as a header value, every write
// failed, the partition stalled) and its size counted NaN. Found by fuzz.services.test.ts
// (seed 1346461103: a dead-lettered record with a plain `hasOwnProperty` header).
import { describe, expect, it } from 'vitest';
import { headerStrings, readRecordHeaders, receivedValues } from '../src/record-mapping.js';

/** Headers as kafkajs's record decoder builds them (its reduce, reproduced for three names). */
function decodedLikeKafkajs(pairs: [string, Buffer][]): Record<string, unknown> {
  return pairs.reduce<Record<string, unknown>>((obj, [key, value]) => {
    const prior = obj[key];
    return {
      // biome-ignore lint/performance/noAccumulatingSpread: kafkajs's own code, reproduced as it is.
      ...obj,
      [key]:
        prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value],
    };
  }, {});
}

/** Read as a computed key: `headers.__proto__` would read the prototype. */
const PROTO = '__proto__';

describe('headers named like inherited members', () => {
  const headers = decodedLikeKafkajs([
    ['ce_id', Buffer.from('m-1')],
    ['constructor', Buffer.from('c')],
    ['hasOwnProperty', Buffer.from('h')],
    ['__proto__', Buffer.from('p')],
  ]);

  it('keeps only the record’s own values', () => {
    expect(Array.isArray(headers.constructor)).toBe(true);
    expect(receivedValues(headers.constructor as never)).toEqual([Buffer.from('c')]);
    expect(receivedValues(headers[PROTO] as never)).toEqual([Buffer.from('p')]);
  });

  it('reads them as text and counts their bytes', () => {
    const { headers: text, bytes } = headerStrings(headers as never);
    expect(Object.entries(text)).toEqual([
      ['ce_id', 'm-1'],
      ['constructor', 'c'],
      ['hasOwnProperty', 'h'],
      ['__proto__', 'p'],
    ]);
    expect(Object.getPrototypeOf(text)).toBe(Object.prototype);
    const expected = 'ce_idm-1constructorchasOwnPropertyh__proto__p'.length;
    expect(bytes).toBe(expected);
    expect(readRecordHeaders(headers as never)).toEqual({
      attributes: { id: 'm-1' },
      bytes: expected,
    });
  });
});
