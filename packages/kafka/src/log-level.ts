// Maps the transport's log level to kafkajs's, so callers never import kafkajs enums.
import { logLevel } from 'kafkajs';

/** How much kafkajs logs (only for clients the transport builds itself). */
export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export const KAFKA_LOG_LEVELS: Readonly<Record<KafkaLogLevel, logLevel>> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};
