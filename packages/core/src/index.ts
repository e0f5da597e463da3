/**
 * The user API of `@eda/core`: what an application calls to define, publish, send and handle
 * messages, the contracts it passes around, the errors it may catch, and the in-memory
 * implementations. What only an adapter needs to implement a contract is in
 * `@eda/core/adapter`.
 * @module @eda/core
 */
export {
  type Bus,
  type BusOptions,
  createBus,
  type EmitOptions,
  type SubscribeHandlersOptions,
  type TracingOptions,
} from './bus.js';
export { bytesCodec, type Codec, type Codecs, createCodecs, jsonCodec } from './codec.js';
export { type CompositeTransportOptions, createCompositeTransport } from './composite-transport.js';
export type {
  ConsumeContext,
  ConsumeMiddleware,
  ConsumeOutcome,
} from './consumer/consume-context.js';
export {
  type DedupeMode,
  type HandlerContext,
  type HandlerOptions,
  type HandlerRegistration,
  type MessageHandler,
  on,
  type ReceivedMessage,
} from './consumer/handler-registration.js';
export type { IdempotencyOptions } from './consumer/idempotency-step.js';
export { UnhandledMessageError, type UnhandledPolicy } from './consumer/route-step.js';
export type {
  DeadLetter,
  DeadLetterAdmin,
  DeadLetterListOptions,
  RedriveSelection,
} from './contracts/dead-letter-admin.js';
export type {
  AppendResult,
  EventStore,
  EventStoreCapabilities,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  TransactionalReadOptions,
} from './contracts/event-store.js';
export type { IdempotencyStore } from './contracts/idempotency-store.js';
export type { OutboxBacklog, OutboxStore } from './contracts/outbox-store.js';
export type { PayloadStore } from './contracts/payload-store.js';
export type {
  DeadLetterReason,
  DeliveryOrigin,
  MessagingDestination,
  OutgoingMessage,
  Subscription,
  Transport,
} from './contracts/transport.js';
export { type DataRef, formatDataRef, parseDataRef } from './data-ref.js';
export { readDeadLetterReason } from './dead-letter-headers.js';
export { type DecodedDeadLetterData, decodeDeadLetterData } from './dead-letter-view.js';
export {
  type DomainEventDefinition,
  type DomainEventOptions,
  type DomainInputOf,
  type DomainOutputOf,
  defineDomainEvent,
  domainEvent,
  type NewDomainEvent,
} from './domain-event.js';
export {
  type Envelope,
  type EnvelopeAttributes,
  MAX_ENTITY_VERSION,
  type MessageKind,
} from './envelope.js';
export {
  CapabilityError,
  ClosedError,
  ConfigurationError,
  DecodeError,
  DomainEventError,
  describeError,
  EdaError,
  InProgressError,
  OwnershipError,
  PayloadError,
  StreamVersionConflictError,
  UnavailableError,
  ValidationError,
  type ValidationIssue,
} from './errors.js';
export {
  type AppendedEvent,
  type CommitOptions,
  type CommitResult,
  createEventCommitter,
  type EventCommitter,
  type EventCommitterOptions,
  isEventOf,
  type PublishTranslated,
  type TranslatedEventOptions,
  type Translation,
} from './event-committer.js';
export {
  createInMemoryBroker,
  type InMemoryBroker,
  type InMemoryBrokerOptions,
  type InMemoryDeadLetter,
} from './memory/memory-broker.js';
export { createInMemoryDeadLetterAdmin } from './memory/memory-dead-letter-admin.js';
export {
  createInMemoryEventStore,
  type InMemoryEventStore,
  type InMemoryEventStoreOptions,
} from './memory/memory-event-store.js';
export {
  createInMemoryIdempotencyStore,
  type InMemoryIdempotencyStore,
} from './memory/memory-idempotency-store.js';
export {
  createInMemoryOutboxStore,
  type InMemoryOutboxRow,
  type InMemoryOutboxStore,
  type InMemoryTransaction,
} from './memory/memory-outbox-store.js';
export {
  createInMemoryPayloadStore,
  type InMemoryPayloadStore,
  type InMemoryPayloadStoreOptions,
} from './memory/memory-payload-store.js';
export {
  createInMemoryTransport,
  IN_MEMORY_SYSTEM,
  type InMemoryTransport,
  type InMemoryTransportOptions,
} from './memory/memory-transport.js';
export {
  type CommandDefinition,
  type DefinitionOptions,
  defineCommand,
  defineEvent,
  type EventDefinition,
  type InputOf,
  type MessageDefinition,
  type OutputOf,
  type Upcaster,
} from './message-definition.js';
export type { BusEvent, BusObserver } from './observer.js';
export {
  createOutboxRelay,
  type OutboxRelay,
  type OutboxRelayObserver,
  type OutboxRelayOptions,
} from './outbox/outbox-relay.js';
export type { ClaimCheckOptions, PublishMiddleware } from './publisher/claim-check-offload.js';
export { EncodeError, type MessageOptions } from './publisher/prepare-message.js';
export { REDRIVE_HEADERS } from './redrive-headers.js';
export { replay, type StateChange, when } from './replay.js';
export type { RetryPolicyOptions } from './retry-policy.js';
export type { ProcessSpanParent } from './tracing.js';
export {
  createWorkflowTracker,
  type StuckWorkflow,
  type WorkflowDefinition,
  type WorkflowStep,
  type WorkflowTracker,
} from './workflow-tracker.js';
