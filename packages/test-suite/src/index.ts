export { assertSameBytes, everyByteValue } from './bytes.js';
export {
  type CaseScope,
  type ContractCase,
  type ContractOptions,
  type ContractTiming,
  DEFAULT_IDLE_MS,
} from './contract-case.js';
export { createDeferred, type Deferred } from './deferred.js';
export { expectEdaError } from './eda-error.js';
export { type EventStoreCaseId, eventStoreCases } from './event-store/event-store-cases.js';
export {
  describeEventStoreContract,
  runEventStoreCase,
} from './event-store/event-store-contract.js';
export type {
  EventStoreCase,
  EventStoreCaseContext,
  EventStoreContractSetup,
  EventStoreEnvironment,
  EventStoreFixtures,
  EventStoreRequirement,
  HeldTransaction,
} from './event-store/event-store-setup.js';
export {
  type IdempotencyStoreCaseId,
  idempotencyStoreCases,
} from './idempotency/idempotency-cases.js';
export {
  describeIdempotencyStoreContract,
  runIdempotencyStoreCase,
} from './idempotency/idempotency-contract.js';
export type {
  IdempotencyCase,
  IdempotencyCaseContext,
  IdempotencyContractSetup,
  IdempotencyEnvironment,
  IdempotencyHook,
  IdempotencyRequirement,
} from './idempotency/idempotency-setup.js';
export { createInbox, type Inbox } from './inbox.js';
export {
  type MonitorStoreCaseId,
  monitorStoreCases,
} from './monitor-store/monitor-store-cases.js';
export {
  describeMonitorStoreContract,
  runMonitorStoreCase,
} from './monitor-store/monitor-store-contract.js';
export type {
  MonitorStoreCase,
  MonitorStoreCaseContext,
  MonitorStoreContractSetup,
  MonitorStoreEnvironment,
  MonitorStoreRequirement,
} from './monitor-store/monitor-store-setup.js';
export { type ClaimUntilOptions, claimUntil } from './outbox/claim-loop.js';
export { type OutboxStoreCaseId, outboxStoreCases } from './outbox/outbox-cases.js';
export {
  describeOutboxStoreContract,
  runOutboxStoreCase,
} from './outbox/outbox-contract.js';
export type {
  OutboxCase,
  OutboxCaseContext,
  OutboxContractSetup,
  OutboxEnvironment,
  OutboxHook,
  OutboxMessageOptions,
  OutboxRequirement,
  OutboxTransaction,
} from './outbox/outbox-setup.js';
export {
  describePayloadStoreContract,
  runPayloadStoreCase,
} from './payload/payload-contract.js';
export type {
  PayloadCase,
  PayloadCaseContext,
  PayloadContractSetup,
  PayloadEnvironment,
  PayloadRequirement,
} from './payload/payload-setup.js';
export { type PayloadStoreCaseId, payloadStoreCases } from './payload/payload-store-cases.js';
export { type Channel, createChannel, emit, emitRaw } from './transport/channel.js';
export { type TransportCaseId, transportCases } from './transport/transport-cases.js';
export {
  describeTransportContract,
  runTransportCase,
} from './transport/transport-contract.js';
export type {
  DeadLetterRecord,
  TransportCase,
  TransportCaseContext,
  TransportContractSetup,
  TransportEnvironment,
  TransportHook,
  TransportRequirement,
} from './transport/transport-setup.js';
export { type WaitForOptions, WaitTimeoutError, waitFor } from './wait-for.js';
