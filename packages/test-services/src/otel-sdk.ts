// A real OpenTelemetry SDK for tests: spans into an in-memory exporter, metrics into an
// in-memory reader, W3C trace-context and baggage propagators unless another one is given.
// Free of vitest, so a fixture in a child process can register it too (see otel.ts).
import { context, metrics, propagation, type TextMapPropagator, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import {
  AggregationTemporality,
  type DataPoint,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

export interface OtelSdkOptions {
  /** @default W3C trace context + W3C baggage */
  readonly propagator?: TextMapPropagator;
}

/** One metric's points, with the scope that reported it. */
export interface MetricPoints {
  readonly scope: { readonly name: string; readonly version?: string | undefined };
  readonly unit: string;
  readonly points: readonly DataPoint<unknown>[];
}

/** The registered SDK's recordings. */
export interface OtelSdk {
  /** Finished spans so far. */
  spans(): ReadableSpan[];
  /** Finished spans with this name. */
  named(name: string): ReadableSpan[];
  /** Collects metrics now; each metric's points by name (cumulative since the start). */
  collectMetrics(): Promise<Map<string, MetricPoints>>;
  /** Forgets the spans so far. */
  reset(): void;
  shutdown(): Promise<void>;
}

/** Registers the SDK globally, now. */
export function startOtelSdk(options: OtelSdkOptions = {}): OtelSdk {
  const exporter = new InMemorySpanExporter();
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    // Collected on demand (collectMetrics), not on a timer.
    exportIntervalMillis: 3_600_000,
  });
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  propagation.setGlobalPropagator(
    options.propagator ??
      new CompositePropagator({
        propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
      }),
  );
  return {
    spans: () => exporter.getFinishedSpans(),
    named: (name) => exporter.getFinishedSpans().filter((s) => s.name === name),
    async collectMetrics() {
      await reader.forceFlush();
      const byName = new Map<string, MetricPoints>();
      for (const scopeMetrics of metricExporter.getMetrics().at(-1)?.scopeMetrics ?? []) {
        for (const metric of scopeMetrics.metrics) {
          byName.set(metric.descriptor.name, {
            scope: scopeMetrics.scope,
            unit: metric.descriptor.unit,
            points: metric.dataPoints as DataPoint<unknown>[],
          });
        }
      }
      return byName;
    },
    reset: () => exporter.reset(),
    async shutdown() {
      trace.disable();
      metrics.disable();
      propagation.disable();
      context.disable();
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}
