// Core's OpenTelemetry spans, following the messaging semantic conventions: a PRODUCER span
// `create <destination>` per message built, and a CONSUMER span `process <destination>` around
// the whole consumer pipeline of a delivery (decode, claim check, dedupe, handler). Transports
// add `send` and `settle` spans (see telemetry/messaging-telemetry.ts). Only the API is used:
// without an SDK the spans are no-ops and the W3C trace context is still carried in the
// envelope, from our own ids.
import {
  type Attributes,
  type Context,
  context,
  isSpanContextValid,
  propagation,
  SpanKind,
  trace,
} from '@opentelemetry/api';
import type { Delivery, OutgoingMessage } from './contracts/transport.js';
import { CORE_SCOPE } from './telemetry/core-scope.js';
import {
  creationContextOf,
  injectHeaders,
  propagatorRegistered,
  spanContextOf,
  traceparentOf,
} from './telemetry/creation-context.js';
import { telemetrySkipped, tracerFor } from './telemetry/instruments.js';
import { recordFailure, runInSpan } from './telemetry/run-in-span.js';
import { childTraceparent } from './trace-context.js';

/**
 * What a `process` span's parent is. `ambient` (the conventions' default): the context active
 * when the transport called the pipeline (usually none, so each delivery starts a trace), with
 * the message's creation context as a link. `producer`: the creation context itself, so one
 * trace runs from the first message through every handler (what trace viewers without links,
 * such as Zipkin, need to show a workflow as one tree); the link is kept.
 */
export type ProcessSpanParent = 'ambient' | 'producer';

/** Where a message is going, as the transport names it. */
export interface SpanDestination {
  /** `messaging.system`. */
  readonly system: string;
  /** The topic, exchange or queue. */
  readonly name: string;
}

/** The ids a created message carries: its traceparent and the propagator's headers. */
export interface CreatedTrace {
  readonly traceparent: string;
  readonly headers: Record<string, string> | undefined;
}

// Process spans by delivery, so that a transport's settle span becomes their child.
const processContexts = new WeakMap<Delivery, Context>();

/** The context a settle span of `delivery` starts in: its process span when there was one. */
export function settleParentOf(delivery: Delivery | undefined): Context {
  return (delivery && processContexts.get(delivery)) ?? context.active();
}

/**
 * Runs `fn` in the PRODUCER span `create <destination>` of a message being built. The parent is
 * the active span, else the trace of the message being handled (`handlingTraceparent`). `fn`
 * receives the traceparent to write into the envelope and the propagator's headers.
 */
export async function inCreateSpan<T>(
  destination: SpanDestination,
  attributes: Attributes,
  handlingTraceparent: string | undefined,
  fn: (created: CreatedTrace) => Promise<T>,
): Promise<T> {
  if (telemetrySkipped())
    return fn({ traceparent: childTraceparent(handlingTraceparent), headers: undefined });
  const active = context.active();
  const activeSpan = trace.getSpanContext(active);
  const fromMessage = spanContextOf(handlingTraceparent);
  const parent =
    (activeSpan && isSpanContextValid(activeSpan)) || !fromMessage
      ? active
      : trace.setSpanContext(active, fromMessage);
  const span = tracerFor(CORE_SCOPE).startSpan(
    `create ${destination.name}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': destination.system,
        'messaging.operation.type': 'create',
        'messaging.operation.name': 'create',
        'messaging.destination.name': destination.name,
        ...attributes,
      },
    },
    parent,
  );
  const own = span.spanContext();
  // A no-op tracer (no SDK) hands back the parent's context: that is no new span, so carry our
  // own child ids. A sampled-out SDK span has ids of its own and is used as it is.
  const traceparent =
    isSpanContextValid(own) && own.spanId !== trace.getSpanContext(parent)?.spanId
      ? traceparentOf(own)
      : childTraceparent(handlingTraceparent);
  const headers = propagatorRegistered()
    ? injectHeaders(trace.setSpanContext(parent, spanContextOf(traceparent)!))
    : undefined;
  if (!span.isRecording()) return fn({ traceparent, headers });
  return runInSpan(span, undefined, () => fn({ traceparent, headers }));
}

/** What the consumer pipeline may do with its process span. */
export interface ProcessSpan {
  /** Trace context of the processing, parent of anything the handler publishes. */
  readonly traceparent: string;
  /** Marks the processing failed (a retry or dead-letter disposition). */
  fail(errorType: string, message: string): void;
  /** Adds attributes known only after decoding (message id, correlation id). */
  setAttributes(attributes: Attributes): void;
}

const NOT_RECORDING = { fail() {}, setAttributes() {} };

/**
 * Runs a delivery's pipeline in the CONSUMER span `process <destination>`, linked to the
 * message's creation context and parented as `parent` says. Baggage from the transport headers
 * is made current for the handler.
 */
export async function inProcessSpan<T>(
  delivery: Delivery,
  system: string,
  parent: ProcessSpanParent,
  fn: (span: ProcessSpan) => Promise<T>,
): Promise<T> {
  const { attributes: raw, origin } = delivery;
  if (telemetrySkipped())
    return fn({ traceparent: childTraceparent(raw.traceparent), ...NOT_RECORDING });
  const creation = creationContextOf(raw.traceparent, raw.tracestate, delivery.header);
  const active = context.active();
  let parentContext =
    parent === 'producer' && creation.spanContext
      ? trace.setSpanContext(active, creation.spanContext)
      : active;
  if (creation.baggage) parentContext = propagation.setBaggage(parentContext, creation.baggage);
  const span = tracerFor(CORE_SCOPE).startSpan(
    `process ${origin.destination}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': system,
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': origin.destination,
      },
      ...(creation.spanContext ? { links: [{ context: creation.spanContext }] } : {}),
    },
    parentContext,
  );
  if (!span.isRecording()) {
    return fn({ traceparent: childTraceparent(raw.traceparent), ...NOT_RECORDING });
  }
  span.setAttributes({
    'messaging.message.body.size': delivery.body.byteLength,
    ...(raw.id === undefined ? {} : { 'messaging.message.id': raw.id }),
    ...(raw.correlationid === undefined
      ? {}
      : { 'messaging.message.conversation_id': raw.correlationid }),
    ...(origin.partition === undefined
      ? {}
      : { 'messaging.destination.partition.id': String(origin.partition) }),
    ...delivery.spanAttributes?.(),
  });
  const spanContext = trace.setSpan(parentContext, span);
  processContexts.set(delivery, spanContext);
  const handle: ProcessSpan = {
    traceparent: traceparentOf(span.spanContext()),
    fail: (errorType, message) => recordFailure(span, errorType, message),
    setAttributes: (attributes) => span.setAttributes(attributes),
  };
  return runInSpan(span, spanContext, () => fn(handle));
}

/**
 * Runs `fn` with the creation context of `messages` as the active context when they all belong
 * to one trace (so the transport's `send` span joins it), else in the current context. For
 * publishers whose send spans would otherwise start traces of their own (the outbox relay).
 */
export function inSharedCreationContext<T>(
  messages: readonly OutgoingMessage[],
  fn: () => Promise<T>,
): Promise<T> {
  const first = messages[0]?.attributes;
  const creation = spanContextOf(first?.traceparent, first?.tracestate);
  if (!creation) return fn();
  for (const message of messages)
    if (spanContextOf(message.attributes.traceparent)?.traceId !== creation.traceId) return fn();
  return context.with(trace.setSpanContext(context.active(), creation), fn);
}
