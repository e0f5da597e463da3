// The outbox backlog as observable gauges: `eda.outbox.backlog` (records waiting) and
// `eda.outbox.oldest_age` (seconds the oldest has waited), read from the store only when the
// metrics SDK collects, for stores that can tell (`OutboxStore.backlog`).
import type { OutboxStore } from '../contracts/outbox-store.js';
import { CORE_SCOPE } from '../telemetry/core-scope.js';
import { meterFor } from '../telemetry/instruments.js';

/**
 * Registers the gauges with the meter provider registered now (register the SDK before the
 * relay starts); returns what unregisters them. A failed read is told to `onError` and
 * reports nothing for that collection.
 */
export function observeBacklog(
  store: OutboxStore<never>,
  onError: (error: unknown) => void,
): (() => void) | undefined {
  const read = store.backlog?.bind(store);
  if (!read) return undefined;
  const meter = meterFor(CORE_SCOPE);
  const backlog = meter.createObservableGauge('eda.outbox.backlog', {
    unit: '{record}',
    description: 'Outbox records written and not yet published.',
  });
  const oldestAge = meter.createObservableGauge('eda.outbox.oldest_age', {
    unit: 's',
    description: 'Time the oldest unpublished outbox record has waited.',
  });
  const observe = async (result: { observe(instrument: typeof backlog, value: number): void }) => {
    try {
      const { records, oldestAgeMs } = await read();
      result.observe(backlog, records);
      result.observe(oldestAge, (oldestAgeMs ?? 0) / 1000);
    } catch (error) {
      onError(error);
    }
  };
  meter.addBatchObservableCallback(observe, [backlog, oldestAge]);
  return () => meter.removeBatchObservableCallback(observe, [backlog, oldestAge]);
}
