// OpenTelemetry for one service process of the example: the SDK (only here, never in a library
// package) with spans batched to Zipkin under the service's own `service.name`, W3C trace
// context and baggage as the propagators. The libraries only use the API; registering this is
// what turns their spans on.
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

/** A registered tracing set-up. */
export interface Tracing {
  /** Sends the spans still batched, then stops exporting. */
  shutdown(): Promise<void>;
}

/**
 * Registers the OpenTelemetry SDK for `service`, exporting to the Zipkin at `zipkinUrl` (its
 * base URL, such as `http://127.0.0.1:9411`). Spans are sent in batches every half second, so
 * a trace shows up in Zipkin soon after the order was handled.
 */
export function startTracing(service: string, zipkinUrl: string): Tracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new ZipkinExporter({
          url: `${zipkinUrl.replace(/\/$/, '')}/api/v2/spans`,
          serviceName: service,
        }),
        scheduledDelayMillis: 500,
      }),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  );
  trace.setGlobalTracerProvider(provider);
  return { shutdown: () => provider.shutdown() };
}

/**
 * How the example's buses parent their `process` spans: to the message's producer, so that
 * Zipkin (which shows parents but not span links) draws one order as one tree from the payment
 * to the last handler. The conventions' default, `ambient`, would give each delivery a trace
 * of its own, linked to the producer's.
 */
export const EXAMPLE_TRACING = { parent: 'producer' } as const;
