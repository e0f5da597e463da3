// Every case of the monitor store contract, by id.
import {
  concurrentWritersCase,
  flowsOrderCase,
  stateTransitionsCase,
  stuckOnceAfterRestartCase,
  stuckOnceCase,
} from './flow-cases.js';
import type { MonitorStoreCase } from './monitor-store-setup.js';
import { dedupeCase, retentionCase, roundTripCase } from './record-cases.js';

/** The monitor store contract's cases, by id. */
export const monitorStoreCases = {
  roundTrip: roundTripCase,
  dedupe: dedupeCase,
  stateTransitions: stateTransitionsCase,
  flowsOrder: flowsOrderCase,
  stuckOnce: stuckOnceCase,
  stuckOnceAfterRestart: stuckOnceAfterRestartCase,
  concurrentWriters: concurrentWritersCase,
  retention: retentionCase,
} as const satisfies Readonly<Record<string, MonitorStoreCase>>;

/** Id of a monitor store case. */
export type MonitorStoreCaseId = keyof typeof monitorStoreCases;
