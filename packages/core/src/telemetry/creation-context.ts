// A message's creation context: the trace context of its `create` span, carried twice. Once in
// the standard transport headers, written by the configured propagator (`traceparent`,
// `tracestate`, `baggage`, or B3...), so other instrumented clients join the trace; once in the
// envelope's CloudEvents `traceparent`/`tracestate`, which no client instrumentation rewrites.
// Reading, the envelope's copy wins for the span context; baggage comes from the headers.
import {
  type Baggage,
  type Context,
  createTraceState,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type SpanContext,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api';
import type { OutgoingMessage } from '../contracts/transport.js';
import { TRACEPARENT } from '../trace-context.js';

/** Reads one transport header of a delivery by name. */
export type HeaderReader = (name: string) => string | undefined;

const headerGetter: TextMapGetter<HeaderReader> = {
  get: (read, name) => read(name),
  // Propagators in use (W3C, B3, baggage) ask for their own header names; none lists keys.
  keys: () => [],
};

/** The span context a W3C traceparent (and tracestate) names, marked remote. */
export function spanContextOf(
  traceparent: string | undefined,
  tracestate?: string,
): SpanContext | undefined {
  const match = traceparent ? TRACEPARENT.exec(traceparent) : null;
  if (!match) return undefined;
  const spanContext: SpanContext = {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: Number.parseInt(match[3]!, 16),
    isRemote: true,
    ...(tracestate ? { traceState: createTraceState(tracestate) } : {}),
  };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}

/** The W3C traceparent of a span context. */
export function traceparentOf(spanContext: SpanContext): string {
  return `00-${spanContext.traceId}-${spanContext.spanId}-${spanContext.traceFlags.toString(16).padStart(2, '0')}`;
}

/** True when a propagator is registered (the API's default one writes and reads nothing). */
export function propagatorRegistered(): boolean {
  return propagation.fields().length > 0;
}

/** The headers the configured propagator writes for `context`, or undefined when it writes none. */
export function injectHeaders(context: Context): Record<string, string> | undefined {
  const headers: Record<string, string> = {};
  propagation.inject(context, headers);
  for (const _ in headers) return headers;
  return undefined;
}

/**
 * The trace headers a transport writes next to a message: the ones captured when it was
 * created, else (a message read back from an outbox store, which keeps only the envelope) the
 * propagator's headers for the envelope's creation context.
 */
export function traceHeadersOf(
  message: OutgoingMessage,
): Readonly<Record<string, string>> | undefined {
  if (message.headers) return message.headers;
  if (!propagatorRegistered()) return undefined;
  const spanContext = spanContextOf(message.attributes.traceparent, message.attributes.tracestate);
  return spanContext ? injectHeaders(trace.setSpanContext(ROOT_CONTEXT, spanContext)) : undefined;
}

/** What a consumer knows of the context a message was created in. */
export interface CreationContext {
  readonly spanContext: SpanContext | undefined;
  readonly baggage: Baggage | undefined;
}

const NONE: CreationContext = { spanContext: undefined, baggage: undefined };

/**
 * The creation context of a delivery: the envelope's traceparent when valid, else what the
 * propagator reads from the transport headers (a producer that only writes standard headers);
 * baggage from the headers.
 */
export function creationContextOf(
  traceparent: string | undefined,
  tracestate: string | undefined,
  header: HeaderReader | undefined,
): CreationContext {
  const fromEnvelope = spanContextOf(traceparent, tracestate);
  if (!header || !propagatorRegistered())
    return fromEnvelope ? { spanContext: fromEnvelope, baggage: undefined } : NONE;
  const extracted = propagation.extract(ROOT_CONTEXT, header, headerGetter);
  const fromHeaders = trace.getSpanContext(extracted);
  return {
    spanContext:
      fromEnvelope ?? (fromHeaders && isSpanContextValid(fromHeaders) ? fromHeaders : undefined),
    baggage: propagation.getBaggage(extracted),
  };
}
