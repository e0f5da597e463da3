// The RabbitMQ transport's OpenTelemetry instrumentation: `send` spans per publish call, `settle`
// spans for acks, requeues, retry copies and dead letters, and the attributes its deliveries
// carry. Spans and metrics are recorded only when the application registers an SDK.
import { createRequire } from 'node:module';
import { createMessagingTelemetry, type MessagingServer } from '@eda/core/adapter';
import type { Options } from 'amqplib';

// src/ and dist/ sit at the same depth below the package's package.json.
const scope = createRequire(import.meta.url)('../package.json') as {
  name: string;
  version: string;
};

/** `messaging.system` of every RabbitMQ span and metric. */
export const RABBITMQ_SYSTEM = 'rabbitmq';

export const rabbitTelemetry = createMessagingTelemetry({
  name: scope.name,
  version: scope.version,
});

/** `server.address` and `server.port` of the broker the transport connects to by `url`. */
export function serverOf(url: string | Options.Connect | undefined): MessagingServer | undefined {
  if (url === undefined) return undefined;
  if (typeof url !== 'string')
    return url.hostname ? { address: url.hostname, port: url.port ?? 5672 } : undefined;
  try {
    const parsed = new URL(url);
    const port = parsed.port ? Number(parsed.port) : parsed.protocol === 'amqps:' ? 5671 : 5672;
    return { address: parsed.hostname, port };
  } catch {
    return undefined;
  }
}
