import { describe, expect, it } from 'vitest';
import { decodeAuditRecord, encodeAuditRecord } from '../src/index.js';
import { rec } from './records.js';

describe('audit records', () => {
  const record = rec('c1', 'order.placed', 1000, {
    action: 'handled',
    subscription: 'billing',
    causationId: 'm0',
    attempt: 2,
    durationMs: 7,
    reason: 'why',
  });

  it('round-trip through JSON text and bytes, with the version', () => {
    const text = encodeAuditRecord(record);
    expect(JSON.parse(text).v).toBe(1);
    expect(decodeAuditRecord(text)).toEqual({ ok: true, record });
    expect(decodeAuditRecord(new TextEncoder().encode(text))).toEqual({ ok: true, record });
  });

  it('drop fields this version does not know', () => {
    expect(decodeAuditRecord({ ...record, v: 1, extra: 'x' })).toEqual({ ok: true, record });
  });

  it.each([
    ['{not json', /it is not JSON/],
    ['[1,2]', /not a JSON object/],
    ['null', /not a JSON object/],
    [{ ...record, v: 2 }, /version 2 is not 1/],
    [{ ...record, id: '' }, /id must be a non-empty string/],
    [{ ...record, correlationId: undefined }, /correlationId must be a non-empty string/],
    [{ ...record, action: 'exploded' }, /action "exploded" is not one of published/],
    [{ ...record, at: -1 }, /at must be a whole number/],
    [{ ...record, at: '1000' }, /at must be a whole number/],
    [{ ...record, attempt: 0 }, /attempt must be a whole number from 1/],
    [{ ...record, durationMs: 1.5 }, /durationMs must be a whole number/],
    [{ ...record, reason: 42 }, /reason must be a string/],
    [{ ...record, reason: 'x'.repeat(2001) }, /reason is longer than 2000/],
  ])('refuse a malformed record with the reason: %j', (input, reason) => {
    const decoded = decodeAuditRecord(input);
    expect(decoded.ok).toBe(false);
    expect(!decoded.ok && decoded.reason).toMatch(/^Audit record refused: /);
    expect(!decoded.ok && decoded.reason).toMatch(reason);
  });
});
