export {
  type BadInput,
  badBatch,
  badInput,
  type ClaimCheckTarget,
  FRESH_ID,
  FUZZ_TYPE,
  fc,
  forgedReference,
  goodAttributes,
  PROTOTYPE_KEYS,
  type WireInput,
} from './bad-input.js';
export { type Cleanable, cleanupServices, registerCleanup } from './cleanup.js';
export {
  defaultEnv,
  endpoints,
  type KafkaMajor,
  kafkaBrokers,
  kafkaMajors,
  readEndpoints,
  type S3Endpoint,
  type ServiceEndpoints,
} from './endpoints.js';
export {
  closeRabbitConnections,
  killRedisClients,
  type PostgresBackendFilter,
  type RestartKafkaOptions,
  restartKafka,
  restartRedis,
  runServiceScript,
  startKafka,
  startRabbitApp,
  startS3,
  stopKafka,
  stopRabbitApp,
  stopS3,
  terminatePostgresBackends,
} from './faults.js';
export {
  CASE_HEADER,
  claimCheckFor,
  type FuzzDeliveryPathOptions,
  type FuzzReport,
  type FuzzWire,
  fuzzDeliveryPath,
  latencySummary,
} from './fuzz-delivery-path.js';
export {
  createKafka,
  type KafkaTopic,
  type KafkaTopicOptions,
  useKafkaTopic,
  waitForKafka,
} from './kafka.js';
export {
  type ApiVersionRange,
  fetchBrokerApiVersions,
  type KafkajsRequestVersion,
  kafkajsRequestVersions,
} from './kafka-api-versions.js';
export {
  kafkaClusterBrokers,
  kafkaPartitionLeader,
  killKafkaNode,
  startKafkaCluster,
  startKafkaNode,
  wipeKafkaCluster,
} from './kafka-cluster.js';
export { type PostgresSchema, usePostgresSchema } from './postgres.js';
export { connectRabbit, type RabbitNames, useRabbitNames } from './rabbitmq.js';
export { createRedis, type RedisPrefix, useRedisPrefix } from './redis.js';
export { createS3Client, type S3Prefix, useS3Prefix } from './s3.js';
export { uniqueName } from './unique-name.js';
