/**
 * `@eda/workflow-monitor`: sees choreographed workflows across separate services. Each service
 * reports audit records (`createAuditReporter`); the monitor (`createWorkflowMonitor`) stores
 * them, derives running, completed, stuck and failed flows from the declared workflows
 * (`defineWorkflow`), and announces each missed deadline once.
 * @module @eda/workflow-monitor
 */

export { type AuditConsumerOptions, consumeAuditRecords } from './audit-consumer.js';
export {
  AUDIT_ACTIONS,
  AUDIT_RECORD_VERSION,
  type AuditAction,
  type AuditRecord,
  type AuditRecordDecoding,
  decodeAuditRecord,
  encodeAuditRecord,
  MAX_AUDIT_TEXT_LENGTH,
} from './audit-record.js';
export {
  type AuditReporter,
  type AuditReporterOptions,
  type AuditSink,
  createAuditReporter,
} from './audit-reporter.js';
export type { BatchSenderStats as AuditReporterStats } from './batch-sender.js';
export {
  createDeadLetterDesk,
  type DeadLetterDesk,
  type DeadLetterDeskOptions,
} from './dead-letter-desk.js';
export { routeDeadLetterAdmins } from './dead-letter-routes.js';
export { deadLettersText, deadLetterText } from './dead-letter-text.js';
export { deriveFlow, newlyPassed } from './derive-flow.js';
export {
  compareRecords,
  type DeriveFlow,
  type ExpectedStep,
  type FlowInput,
  type FlowState,
  type FlowSummary,
  type PassedDeadline,
} from './flow-summary.js';
export { flowsText, flowText } from './flow-text.js';
export { createInMemoryMonitorStore } from './memory-monitor-store.js';
export { MONITOR_CLI_USAGE, runMonitorCli } from './monitor-cli.js';
export { loadMonitorConfig, type MonitorConfig } from './monitor-config.js';
export {
  ensureMonitorSchema,
  type MonitorTableOptions,
  monitorSchemaSql,
} from './monitor-schema.js';
export type {
  FlowChange,
  FlowQuery,
  MonitorPurgeOptions,
  MonitorStore,
  MonitorStoreCapabilities,
} from './monitor-store.js';
export {
  createPostgresMonitorStore,
  type PostgresMonitorStoreOptions,
} from './postgres-monitor-store.js';
export { sequenceDiagram } from './sequence-diagram.js';
export type { PooledSqlClient, SqlClient, SqlPool, SqlResult } from './sql-client.js';
export {
  AUDIT_RECORDS_CONTENT_TYPE,
  AUDIT_RECORDS_TYPE,
  auditBatchMessage,
  createTransportAuditSink,
  type TransportAuditSinkOptions,
} from './transport-audit-sink.js';
export { createMonitorServer, type MonitorServerOptions } from './web/monitor-server.js';
export {
  catalogOf,
  defineWorkflow,
  type WorkflowCatalog,
  type WorkflowDeclaration,
  type WorkflowDefinition,
  type WorkflowStep,
} from './workflow-definition.js';
export {
  createWorkflowMonitor,
  type FlowView,
  type IngestResult,
  type RefusedRecord,
  type WorkflowMonitor,
  type WorkflowMonitorOptions,
  type WorkflowStuck,
} from './workflow-monitor.js';
