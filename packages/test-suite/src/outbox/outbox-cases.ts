// Every case of the outbox store contract, by id.
import {
  claimIntactCase,
  deadRecordCase,
  failedRecordCase,
  lateCommitCase,
  leaseCase,
  notificationsCase,
  outOfOrderCommitsCase,
  purgeCase,
  rollbackCase,
} from './claim-cases.js';
import {
  conflictingWritersCase,
  earlierWriteAboveFenceCase,
  staleSettlementCase,
} from './order-cases.js';
import type { OutboxCase } from './outbox-setup.js';
import { concurrentRelaysCase, relayEndToEndCase } from './relay-cases.js';

/** The outbox store contract's cases, by id. */
export const outboxStoreCases = {
  claimIntact: claimIntactCase,
  rollback: rollbackCase,
  lateCommit: lateCommitCase,
  outOfOrderCommits: outOfOrderCommitsCase,
  conflictingWritersInWriteOrder: conflictingWritersCase,
  earlierWriteAboveFence: earlierWriteAboveFenceCase,
  failedRecord: failedRecordCase,
  lease: leaseCase,
  staleSettlementAfterTakeover: staleSettlementCase,
  deadRecord: deadRecordCase,
  purge: purgeCase,
  notifications: notificationsCase,
  concurrentRelays: concurrentRelaysCase,
  relayEndToEnd: relayEndToEndCase,
} as const satisfies Readonly<Record<string, OutboxCase>>;

/** Id of an outbox store case. */
export type OutboxStoreCaseId = keyof typeof outboxStoreCases;
