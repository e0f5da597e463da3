// The OpenTelemetry SDK of otel-sdk.ts for one describe block: registered in beforeAll, taken
// away in afterAll, so other test files run with the API's no-op defaults.
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, expect } from 'vitest';
import { type OtelSdk, type OtelSdkOptions, startOtelSdk } from './otel-sdk.js';

export { type MetricPoints, type OtelSdk, type OtelSdkOptions, startOtelSdk } from './otel-sdk.js';

/** Registers the SDK for the enclosing describe block (vitest `beforeAll`/`afterAll`). */
export function useOtelSdk(options: OtelSdkOptions = {}): OtelSdk {
  let sdk: OtelSdk | undefined;
  const current = () => {
    if (!sdk)
      throw new Error('useOtelSdk: the SDK is registered in beforeAll; use it inside a test.');
    return sdk;
  };
  beforeAll(() => {
    sdk = startOtelSdk(options);
  });
  afterAll(async () => {
    await sdk?.shutdown();
    sdk = undefined;
  });
  return {
    spans: () => current().spans(),
    named: (name) => current().named(name),
    collectMetrics: () => current().collectMetrics(),
    reset: () => current().reset(),
    shutdown: () => current().shutdown(),
  };
}

/** The one finished span named `name`; fails naming the spans there are. */
export function onlySpan(sdk: OtelSdk, name: string): ReadableSpan {
  const spans = sdk.named(name);
  expect(spans.length, `one span "${name}" among ${sdk.spans().map((s) => s.name)}`).toBe(1);
  return spans[0]!;
}

/** A span's own id. */
export const spanIdOf = (span: ReadableSpan): string => span.spanContext().spanId;
