// The Kafka transport's OpenTelemetry instrumentation: `send` spans per produce call, `settle`
// spans for offset commits, retry copies and dead letters, the consumer lag gauge, and the
// attributes its deliveries carry. Spans and metrics are recorded only when the application
// registers an OpenTelemetry SDK.
import { createRequire } from 'node:module';
import type { OutgoingMessage } from '@eda/core';
import { createMessagingTelemetry, type MessagingServer, type SendTarget } from '@eda/core/adapter';

// src/ and dist/ sit at the same depth below the package's package.json.
const scope = createRequire(import.meta.url)('../package.json') as {
  name: string;
  version: string;
};

/** `messaging.system` of every Kafka span and metric. */
export const KAFKA_SYSTEM = 'kafka';

export const kafkaTelemetry = createMessagingTelemetry({
  name: scope.name,
  version: scope.version,
});

/** `server.address` and `server.port` of the first bootstrap broker, when the transport was given brokers. */
export function serverOf(brokers: readonly string[] | undefined): MessagingServer | undefined {
  const first = brokers?.[0];
  if (!first) return undefined;
  const at = first.lastIndexOf(':');
  const port = at > 0 ? Number(first.slice(at + 1)) : Number.NaN;
  return Number.isInteger(port) ? { address: first.slice(0, at), port } : { address: first };
}

/** The send target of a produce call: destinations through `topicFor`, the record key per message. */
export function sendTarget(
  topicFor: (type: string) => string,
  server: MessagingServer | undefined,
): SendTarget {
  return {
    system: KAFKA_SYSTEM,
    operationName: 'send',
    destinationOf: (message: OutgoingMessage) => topicFor(message.attributes.type),
    server,
    messageAttributes: (message: OutgoingMessage) =>
      message.attributes.partitionkey === undefined
        ? {}
        : { 'messaging.kafka.message.key': message.attributes.partitionkey },
  };
}
