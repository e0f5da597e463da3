// Registers an OpenTelemetry SDK for one describe block, so its spans reach `exporter` (and its
// metrics `metricReader`), with the W3C trace-context and baggage propagators unless another
// propagator is given, and takes it away afterwards: other test files run with the API's no-op
// defaults.
import { context, metrics, propagation, type TextMapPropagator, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { MeterProvider, type MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  type InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll } from 'vitest';

export interface OtelSdkOptions {
  readonly metricReader?: MetricReader;
  readonly propagator?: TextMapPropagator;
}

export function registerOtelSdk(
  exporter: InMemorySpanExporter,
  options: OtelSdkOptions = {},
): void {
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
    propagation.setGlobalPropagator(
      options.propagator ??
        new CompositePropagator({
          propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
        }),
    );
    if (options.metricReader)
      metrics.setGlobalMeterProvider(new MeterProvider({ readers: [options.metricReader] }));
  });
  afterAll(() => {
    trace.disable();
    context.disable();
    propagation.disable();
    metrics.disable();
  });
}
