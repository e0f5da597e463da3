export type { BackoffOptions } from './backoff.js';
export { UnroutableMessageError } from './errors.js';
export { ATTEMPT_HEADER, ATTRIBUTE_PREFIX, RETRY_REASON_HEADER } from './message-mapping.js';
export {
  type ConnectionPurpose,
  DEFAULT_DELAY_BUCKETS_MS,
  type QueueType,
  type RabbitMqTransportOptions,
} from './options.js';
export {
  createRabbitMqDeadLetterAdmin,
  type RabbitMqDeadLetterAdminOptions,
} from './rabbitmq-dead-letter-admin.js';
export {
  createRabbitMqTransport,
  type RabbitMqNames,
  type RabbitMqTransport,
  rabbitMqCapabilities,
} from './rabbitmq-transport.js';
