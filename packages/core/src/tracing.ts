// OpenTelemetry spans for messages, following the messaging semantic conventions: a PRODUCER
// span `create <type>` when a message is built, a CONSUMER span `process <destination>` around
// its handling, parented to and linked with the producer. Only the API is used: without an SDK
// the spans are no-ops and the W3C trace context is still carried, from our own ids.
import {
  type Attributes,
  type Context,
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { describeError } from './errors.js';
import { childTraceparent, TRACEPARENT } from './trace-context.js';

const tracer = () => trace.getTracer('@eda/core');

/** The span context a traceparent names, marked remote. */
function spanContextOf(traceparent: string | undefined): SpanContext | undefined {
  const match = traceparent ? TRACEPARENT.exec(traceparent) : null;
  if (!match) return undefined;
  const spanContext: SpanContext = {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: Number.parseInt(match[3]!, 16),
    isRemote: true,
  };
  if (!isSpanContextValid(spanContext)) return undefined;
  return spanContext;
}

function traceparentOf(spanContext: SpanContext): string {
  return `00-${spanContext.traceId}-${spanContext.spanId}-${spanContext.traceFlags.toString(16).padStart(2, '0')}`;
}

/**
 * Runs `fn` in the span `<operation> <destination>`. Without a span of its own (no SDK), the
 * traceparent given to `fn` is a child of `messageTraceparent`, or a new trace.
 */
async function inSpan<T>(
  operation: 'create' | 'process',
  destination: string,
  attributes: Attributes,
  parent: Context,
  link: SpanContext | undefined,
  messageTraceparent: string | undefined,
  fn: (traceparent: string) => Promise<T>,
): Promise<T> {
  const span = tracer().startSpan(
    `${operation} ${destination}`,
    {
      kind: operation === 'create' ? SpanKind.PRODUCER : SpanKind.CONSUMER,
      attributes: {
        'messaging.operation.type': operation,
        'messaging.operation.name': operation,
        'messaging.destination.name': destination,
        ...attributes,
      },
      ...(link ? { links: [{ context: link }] } : {}),
    },
    parent,
  );
  const own = span.spanContext();
  // A no-op tracer (no SDK) hands back the parent's context: that is no new span, so carry our
  // own child ids. A sampled-out SDK span has ids of its own and is used as it is.
  const parentSpanId = trace.getSpanContext(parent)?.spanId;
  const traceparent =
    isSpanContextValid(own) && own.spanId !== parentSpanId
      ? traceparentOf(own)
      : childTraceparent(messageTraceparent);
  // Nothing is recorded: skip the context switch, the hot path when no SDK is installed.
  if (!span.isRecording()) return fn(traceparent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(traceparent));
  } catch (error) {
    const described = describeError(error);
    span.setAttribute('error.type', described.type);
    span.setStatus({ code: SpanStatusCode.ERROR, message: described.message });
    throw error;
  } finally {
    span.end();
  }
}

/**
 * Runs `fn` in a PRODUCER span for a message being created. The parent is the active span, else
 * the trace of the message being handled (`handlingTraceparent`). `fn` receives the traceparent
 * to write into the envelope.
 */
export function inProducerSpan<T>(
  type: string,
  attributes: Attributes,
  handlingTraceparent: string | undefined,
  fn: (traceparent: string) => Promise<T>,
): Promise<T> {
  const active = context.active();
  const activeSpan = trace.getSpanContext(active);
  const fromMessage = spanContextOf(handlingTraceparent);
  const parent =
    (activeSpan && isSpanContextValid(activeSpan)) || !fromMessage
      ? active
      : trace.setSpanContext(ROOT_CONTEXT, fromMessage);
  return inSpan('create', type, attributes, parent, undefined, handlingTraceparent, fn);
}

/**
 * Runs `fn` in a CONSUMER span `process <destination>` whose parent and link are the producer's
 * trace context from the envelope. `fn` receives the traceparent of the processing span.
 */
export function inConsumerSpan<T>(
  destination: string,
  producerTraceparent: string | undefined,
  attributes: Attributes,
  fn: (traceparent: string) => Promise<T>,
): Promise<T> {
  const producer = spanContextOf(producerTraceparent);
  const parent = producer ? trace.setSpanContext(ROOT_CONTEXT, producer) : ROOT_CONTEXT;
  return inSpan('process', destination, attributes, parent, producer, producerTraceparent, fn);
}
