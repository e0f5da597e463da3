export { sleep as abortableSleep } from './abortable-wait.js';
export { type BinaryModeOptions, fromBinaryHeaders, toBinaryHeaders } from './binary-mode.js';
export {
  type Bus,
  type BusOptions,
  createBus,
  type EmitOptions,
  type SubscribeHandlersOptions,
} from './bus.js';
export { bytesCodec, type Codec, type Codecs, createCodecs, jsonCodec } from './codec.js';
export { type CompositeTransportOptions, createCompositeTransport } from './composite-transport.js';
export type {
  ConsumeContext,
  ConsumeMiddleware,
  ConsumeOutcome,
} from './consumer/consume-context.js';
export { createDeliveryHandler, type DeliveryHandlerOptions } from './consumer/delivery-handler.js';
export {
  type DedupeMode,
  type HandlerContext,
  type HandlerOptions,
  type HandlerRegistration,
  type MessageHandler,
  on,
  type ReceivedMessage,
} from './consumer/handler-registration.js';
export { dedupeKey, type IdempotencyOptions } from './consumer/idempotency-step.js';
export { UnhandledMessageError, type UnhandledPolicy } from './consumer/route-step.js';
export type {
  ClaimOptions,
  ClaimResult,
  IdempotencyCapabilities,
  IdempotencyStore,
} from './contracts/idempotency-store.js';
export type {
  OutboxCapabilities,
  OutboxClaimOptions,
  OutboxFailOptions,
  OutboxRecord,
  OutboxStore,
} from './contracts/outbox-store.js';
export type {
  GetPayloadOptions,
  PayloadStore,
  PayloadStoreCapabilities,
} from './contracts/payload-store.js';
export type {
  DeadLetterReason,
  Delivery,
  DeliveryHandler,
  DeliveryOrigin,
  Disposition,
  OutgoingMessage,
  SubscribeOptions,
  Subscription,
  Transport,
  TransportCapabilities,
} from './contracts/transport.js';
export { assertKeyInside, type DataRef, formatDataRef, parseDataRef } from './data-ref.js';
export {
  DEAD_LETTER_HEADERS,
  deadLetterHeaders,
  readDeadLetterReason,
} from './dead-letter-headers.js';
export {
  createDeadlines,
  createTimeLimit,
  type Deadline,
  type Deadlines,
} from './deadlines.js';
export {
  attributesOf,
  attributesToStrings,
  ENVELOPE_ATTRIBUTE_NAMES,
  type Envelope,
  type EnvelopeAttributes,
  isEntityVersion,
  MAX_ENTITY_VERSION,
  type MessageKind,
  parseAttributes,
} from './envelope.js';
export {
  CapabilityError,
  ClosedError,
  ConfigurationError,
  DecodeError,
  describeError,
  EdaError,
  type EdaErrorOptions,
  InProgressError,
  OwnershipError,
  PayloadError,
  UnavailableError,
  ValidationError,
  type ValidationIssue,
} from './errors.js';
export { handlerEmitId } from './handler-emit-id.js';
export { uuidv7 } from './ids.js';
export {
  createInMemoryBroker,
  type InMemoryBroker,
  type InMemoryBrokerOptions,
  type InMemoryDeadLetter,
} from './memory/memory-broker.js';
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
  verifyPayload,
} from './memory/memory-payload-store.js';
export {
  createInMemoryTransport,
  type InMemoryTransport,
  type InMemoryTransportOptions,
  inMemoryCapabilities,
} from './memory/memory-transport.js';
export {
  currentMessageContext,
  type HeldMessage,
  type MessageContext,
  type OutgoingBuffer,
} from './message-context.js';
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
  validateData,
  versionOfDataschema,
} from './message-definition.js';
export { type BusEvent, type BusObserver, notifyAll } from './observer.js';
export {
  createOutboxRelay,
  type OutboxRelay,
  type OutboxRelayOptions,
} from './outbox/outbox-relay.js';
export { setOwn } from './own-property.js';
export {
  type ClaimCheckOptions,
  claimCheckOffload,
  type PublishMiddleware,
} from './publisher/claim-check-offload.js';
export { EncodeError, type MessageOptions } from './publisher/prepare-message.js';
export {
  createRetryPolicy,
  deferredDelay,
  dispositionForFailure,
  type RetryPolicy,
  type RetryPolicyOptions,
} from './retry-policy.js';
export { childTraceparent, newTraceparent, traceIdOf } from './trace-context.js';
export {
  createWorkflowTracker,
  type StuckWorkflow,
  type WorkflowDefinition,
  type WorkflowStep,
  type WorkflowTracker,
} from './workflow-tracker.js';
