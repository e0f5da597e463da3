// W3C trace context (traceparent) without an SDK: enough to carry a trace across messages when
// no OpenTelemetry SDK is installed. When one is, the tracing middleware uses its spans instead.
import { randomHex } from './random-pool.js';

/** A W3C traceparent, version 00: trace id, parent span id, flags. */
export const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A new root traceparent (sampled). */
export function newTraceparent(): string {
  return `00-${randomHex(16)}-${randomHex(8)}-01`;
}

/** A child of `parent`: same trace, new span id. A missing or malformed parent starts a new trace. */
export function childTraceparent(parent: string | undefined): string {
  const match = parent ? TRACEPARENT.exec(parent) : null;
  if (!match) return newTraceparent();
  return `00-${match[1]}-${randomHex(8)}-${match[3]}`;
}

/** The trace id of a traceparent, or undefined when malformed. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent ? TRACEPARENT.exec(traceparent)?.[1] : undefined;
}
