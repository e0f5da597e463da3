// The kafkajs client of a transport or dead-letter admin (the application's, or one built from
// `brokers`), and the admin client both connect lazily and share across their calls.
import { ConfigurationError } from '@eda/core';
import { type Admin, type AdminConfig, Kafka } from 'kafkajs';
import type { KafkaTransportOptions } from './kafka-transport-options.js';
import { KAFKA_LOG_LEVELS } from './log-level.js';

/**
 * The client `options` name: `kafka` as given, or one built from `brokers`.
 * @param who names the caller in errors, such as "Kafka transport".
 * @throws ConfigurationError for both or neither of `kafka` and `brokers`, or an unknown log level.
 */
export function clientOf(options: KafkaTransportOptions, who: string): Kafka {
  if (options.logLevel !== undefined && !(options.logLevel in KAFKA_LOG_LEVELS)) {
    throw new ConfigurationError(
      `${who} option logLevel is "${options.logLevel}": use nothing, error, warn, info or debug.`,
    );
  }
  if (options.kafka && options.brokers) {
    throw new ConfigurationError(
      `${who}: give either kafka (a client you built) or brokers (one is built for you), not both.`,
    );
  }
  if (options.kafka) return options.kafka;
  if (!options.brokers?.length) {
    throw new ConfigurationError(
      `${who} needs a kafkajs client (kafka: new Kafka({...})) or bootstrap brokers (brokers: ["127.0.0.1:9092"]).`,
    );
  }
  return new Kafka({
    clientId: options.clientId ?? 'eda',
    brokers: [...options.brokers],
    logLevel: KAFKA_LOG_LEVELS[options.logLevel ?? 'error'],
  });
}

/** An admin client connected on first use; a failed connection is tried again on the next use. */
export interface LazyAdmin {
  /** The connected admin client. @throws the connection error of this try. */
  readonly get: () => Promise<Admin>;
  /** Disconnects it if it was connected; the next `get` connects again. */
  readonly close: () => Promise<void>;
}

export function lazyAdmin(kafka: Kafka, config?: AdminConfig): LazyAdmin {
  let admin: Promise<Admin> | undefined;
  return {
    get() {
      if (!admin) {
        const created = kafka.admin(config);
        const connecting = created.connect().then(() => created);
        admin = connecting;
        connecting.catch(() => {
          if (admin === connecting) admin = undefined;
        });
      }
      return admin;
    },
    async close() {
      const connected = admin;
      admin = undefined;
      if (connected) await (await connected.catch(() => undefined))?.disconnect();
    },
  };
}
