export type { ChangeListener, ListenConnection } from './change-listener.js';
export {
  type EventStoreTableOptions,
  ensureEventStoreSchema,
  eventStoreSchemaSql,
} from './event-store-schema.js';
export { createFallbackTransport, type FallbackTransportOptions } from './fallback-transport.js';
export { type FenceHolder, type FenceLag, OutboxFenceHeldError } from './fence-monitor.js';
export {
  ensureIdempotencySchema,
  type IdempotencyTableOptions,
  idempotencySchemaSql,
} from './idempotency-schema.js';
export { ensureInboxSchema, type InboxTableOptions, inboxSchemaSql } from './inbox-schema.js';
export { ensureOutboxSchema, type OutboxTableOptions, outboxSchemaSql } from './outbox-schema.js';
export {
  createPostgresEventStore,
  type PostgresEventStore,
  type PostgresEventStoreOptions,
} from './postgres-event-store.js';
export {
  createPostgresIdempotencyStore,
  type PostgresIdempotencyStore,
  type PostgresIdempotencyStoreOptions,
} from './postgres-idempotency-store.js';
export {
  createPostgresInbox,
  currentInboxTransaction,
  inboxTransaction,
  type PostgresInbox,
  type PostgresInboxOptions,
} from './postgres-inbox.js';
export {
  createPostgresOutboxStore,
  type OutboxCounts,
  type PostgresOutboxStore,
  type PostgresOutboxStoreOptions,
} from './postgres-outbox-store.js';
export type {
  PooledSqlClient,
  SqlClient,
  SqlPool,
  SqlResult,
  SqlTransaction,
} from './sql-client.js';
export { withTransaction } from './with-transaction.js';
