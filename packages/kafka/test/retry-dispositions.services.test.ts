// How retry dispositions are carried out on real brokers, in both retry modes: a deferred retry
// (another consumer holds the message's claim) waits without spending the delivery budget.
import type { Delivery, Disposition } from '@eda/core/adapter';
import { kafkaMajors } from '@eda/test-services';
import { afterEach, describe, expect, it } from 'vitest';
import { ack, jsonMessage, type Namespace, namespace, until } from './helpers.js';

describe.each(kafkaMajors)('Kafka %i.x retry dispositions', (major) => {
  let ns: Namespace;
  afterEach(async () => {
    await ns?.cleanup();
  });

  describe.each(['blocking', 'topics'] as const)('in %s mode', (mode) => {
    it('keeps the attempt across deferred retries and counts only the ones that are not', async () => {
      ns = namespace(major, `deferred-${mode}`);
      const transport = ns.transport({ retry: { mode }, topics: { partitions: 1 } });
      const type = 'stock.reserved';
      const deliveries: Delivery[] = [];
      // Three waits for a claim held elsewhere, then one real failure, then success.
      const script: Disposition[] = [
        { type: 'retry', delayMs: 50, reason: 'claim held', deferred: true },
        { type: 'retry', delayMs: 50, reason: 'claim held', deferred: true },
        { type: 'retry', delayMs: 50, reason: 'claim held', deferred: true },
        { type: 'retry', delayMs: 50, reason: 'db down' },
        ack,
      ];
      await transport.subscribe({ name: ns.group(), kind: 'event', types: [type] }, async (d) => {
        deliveries.push(d);
        return script[deliveries.length - 1] ?? ack;
      });
      const sent = jsonMessage(type, { sku: 's-1' }, { partitionkey: 's-1' });
      await transport.publish([sent]);
      await until(
        () => deliveries.length >= script.length,
        () => deliveries.length,
      );
      expect(deliveries.map((d) => d.attempt)).toEqual([1, 1, 1, 1, 2]);
      expect(deliveries.every((d) => d.attributes.id === sent.attributes.id)).toBe(true);
    });
  });
});
