// Attribute names that are prototype keys: `__proto__` is an invalid CloudEvents name and must
// be refused like any other (a plain assignment used to drop it unchecked); `constructor` and
// `prototype` are valid names, carried as extensions; nothing reaches Object.prototype.
// Found by the bad-input fuzz (packages/test-services/src/bad-input.ts).
import { describe, expect, it } from 'vitest';
import { fromBinaryHeaders, parseAttributes, setOwn } from '../src/adapter.js';
import { DecodeError } from '../src/index.js';
import { structuredToBinary } from '../src/structured-mode.js';

const required = { ce_id: 'x', ce_type: 't', ce_source: 's', ce_specversion: '1.0' };
const utf8 = new TextEncoder();

describe('prototype keys as attribute names', () => {
  it('refuses a __proto__ header as an invalid attribute name', () => {
    const headers = Object.fromEntries([...Object.entries(required), ['ce___proto__', 'x']]);
    const attributes = fromBinaryHeaders(headers);
    expect(Object.keys(attributes)).toContain('__proto__');
    expect(() => parseAttributes(attributes)).toThrow(DecodeError);
    expect(() => parseAttributes(attributes)).toThrow(/"__proto__" is invalid/);
  });

  it('refuses a structured event with a __proto__ attribute, string or number', () => {
    for (const value of ['"x"', '1']) {
      const body = utf8.encode(
        `{"id":"x","type":"t","source":"s","specversion":"1.0","__proto__":${value}}`,
      );
      const { attributes } = structuredToBinary('application/cloudevents+json', {}, body);
      expect(() => parseAttributes(attributes)).toThrow(/"__proto__" is invalid/);
    }
  });

  it('carries constructor and prototype as extensions without touching Object.prototype', () => {
    const headers = { ...required, ce_constructor: 'c', ce_prototype: 'p' };
    const parsed = parseAttributes(fromBinaryHeaders(headers));
    expect(parsed.extensions).toEqual({ constructor: 'c', prototype: 'p' });
    expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('polluted');
    expect(({} as { constructor: unknown }).constructor).toBe(Object);
  });

  it('setOwn writes __proto__ as an own property and leaves the prototype alone', () => {
    const target: Record<string, unknown> = {};
    setOwn(target, '__proto__', { polluted: true });
    expect(Object.getPrototypeOf(target)).toBe(Object.prototype);
    expect(Object.keys(target)).toEqual(['__proto__']);
    expect((target as { polluted?: unknown }).polluted).toBeUndefined();
  });
});
