/**
 * `@eda/core/adapter`: what an adapter author needs to implement a contract (transport, outbox,
 * idempotency or payload store) and that an application never calls: contract member types,
 * binary-mode headers, the delivery pipeline, dead-letter headers, deadlines, trace helpers.
 * An adapter imports the user API from `@eda/core` and these from here.
 * @module @eda/core/adapter
 */
export { sleep as abortableSleep } from './abortable-wait.js';
export { type BinaryModeOptions, fromBinaryHeaders, toBinaryHeaders } from './binary-mode.js';
export { createDeliveryHandler, type DeliveryHandlerOptions } from './consumer/delivery-handler.js';
export { dedupeKey } from './consumer/idempotency-step.js';
export type {
  ClaimOptions,
  ClaimResult,
  IdempotencyCapabilities,
} from './contracts/idempotency-store.js';
export type {
  OutboxCapabilities,
  OutboxClaimOptions,
  OutboxFailOptions,
  OutboxRecord,
} from './contracts/outbox-store.js';
export type { GetPayloadOptions, PayloadStoreCapabilities } from './contracts/payload-store.js';
export type {
  Delivery,
  DeliveryHandler,
  Disposition,
  SubscribeOptions,
  TransportCapabilities,
} from './contracts/transport.js';
export { assertKeyInside } from './data-ref.js';
export { DEAD_LETTER_HEADERS, deadLetterHeaders } from './dead-letter-headers.js';
export { deadLetterOf, type StoredDeadLetter } from './dead-letter-view.js';
export {
  createDeadlines,
  createTimeLimit,
  type Deadline,
  type Deadlines,
} from './deadlines.js';
export { attributesToStrings, parseAttributes } from './envelope.js';
// describeError is in the user API too (onError callbacks); adapters have it here as well.
export { describeError, type EdaErrorOptions } from './errors.js';
export {
  assertStreamName,
  MAX_STREAM_NAME_LENGTH,
  type PreparedDomainEvent,
  prepareAppend,
} from './event-store-input.js';
export { uuidv7 } from './ids.js';
export { verifyPayload } from './memory/memory-payload-store.js';
export { inMemoryCapabilities } from './memory/memory-transport.js';
export {
  currentMessageContext,
  type HeldMessage,
  type MessageContext,
  type OutgoingBuffer,
} from './message-context.js';
export { setOwn } from './own-property.js';
export { redriveHeaders } from './redrive-headers.js';
export { selectForRedrive } from './redrive-selection.js';
export { createRetryPolicy, type RetryPolicy } from './retry-policy.js';
export { CORE_SCOPE } from './telemetry/core-scope.js';
export { type HeaderReader, traceHeadersOf } from './telemetry/creation-context.js';
export { type InstrumentationScope, meterFor } from './telemetry/instruments.js';
export {
  createMessagingTelemetry,
  type MessagingServer,
  type MessagingTelemetry,
  type SendTarget,
  type SettleTarget,
  type TelemetryAttributes,
} from './telemetry/messaging-telemetry.js';
export { childTraceparent, newTraceparent } from './trace-context.js';
