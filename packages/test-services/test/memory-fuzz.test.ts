// Bad input fuzzed at the in-memory transport's delivery path: raw records appended to the
// topic a real consumer reads, with the in-memory payload store for forged references.
import { createInMemoryPayloadStore, createInMemoryTransport } from '@eda/core';
import { describe, expect, it } from 'vitest';
import { claimCheckFor, FUZZ_TYPE, fuzzDeliveryPath, type WireInput } from '../src/index.js';

const text = new TextDecoder();

/** The in-memory wire carries header strings: bytes are read as UTF-8, as the brokers' are. */
function recordHeaders(message: WireInput): Record<string, string> {
  const attributes = Object.entries(message.attributes).map(([name, value]) => [
    `ce_${name}`,
    typeof value === 'string' ? value : text.decode(value),
  ]);
  return Object.fromEntries([
    ...Object.entries(message.headers),
    ...attributes,
    ...(message.contentType === undefined ? [] : [['ce_datacontenttype', message.contentType]]),
  ]);
}

describe('bad input on the in-memory transport', () => {
  it('dead-letters every bad message with its reason, keeps consuming, pollutes nothing', async () => {
    const transport = createInMemoryTransport();
    const store = createInMemoryPayloadStore();
    const claimCheck = await claimCheckFor(store, {
      store: 'memory',
      bucket: 'memory',
      prefix: 'payloads/',
    });
    const subscription = 'fuzz-memory';
    const report = await fuzzDeliveryPath({
      transport,
      subscription,
      ...claimCheck,
      numRuns: 100,
      wire: () => ({
        async write(messages) {
          for (const message of messages)
            transport.broker.topic(FUZZ_TYPE).append({
              headers: recordHeaders(message),
              body: message.body,
              key: undefined,
              timestamp: Date.now(),
            });
        },
        async deadLetters() {
          return transport.broker.deadLetters(subscription).map((letter) => letter.headers);
        },
      }),
    });
    expect(report.runs).toBe(100);
    expect(report.deadLettered).toBeGreaterThan(report.handled);
    await transport.close();
  });
});
