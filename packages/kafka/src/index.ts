export type { PartitionLag, SeekTarget } from './group-admin.js';
export {
  createKafkaDeadLetterAdmin,
  type KafkaDeadLetterAdminOptions,
} from './kafka-dead-letter-admin.js';
export type { KafkaSubscription } from './kafka-subscription.js';
export {
  createKafkaTransport,
  type EnsureTopicsOptions,
  type KafkaTransport,
} from './kafka-transport.js';
export type {
  KafkaCompression,
  KafkaConsumerOptions,
  KafkaProducerOptions,
  KafkaRetryOptions,
  KafkaTopicOptions,
  KafkaTransportOptions,
} from './kafka-transport-options.js';
export type { KafkaLogLevel } from './log-level.js';
export { RETRY_HEADERS } from './retry-headers.js';
export { BODY_DROPPED_HEADER } from './settle-record.js';
export type {
  KafkaTransportEvent,
  KafkaTransportStats,
  WriteRefusal,
} from './transport-events.js';
