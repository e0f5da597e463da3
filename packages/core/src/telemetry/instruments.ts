// The OpenTelemetry tracer and metric instruments of one instrumentation scope (a package name
// and version). Only the API is used. The metrics API has no proxy provider: a meter taken
// before the application registers its SDK would stay a no-op, so instruments are looked up
// again whenever the global provider changes. Without an SDK `instrumentsFor` returns
// undefined, so callers skip building metric attributes altogether.
import {
  type Counter,
  createNoopMeter,
  type Gauge,
  type Histogram,
  type MeterProvider,
  metrics,
  ProxyTracerProvider,
  propagation,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';

/** The package that reports spans and metrics: the tracer's and meter's name and version. */
export interface InstrumentationScope {
  readonly name: string;
  readonly version: string;
}

/** The metric instruments of the toolkit (see docs/tracing.md for each one's attributes). */
export interface MessagingInstruments {
  /** `messaging.client.sent.messages`: messages a transport was asked to send. */
  readonly sent: Counter;
  /** `messaging.client.consumed.messages`: deliveries handed to the consumer pipeline. */
  readonly consumed: Counter;
  /** `messaging.client.operation.duration`: send and settle calls, in seconds. */
  readonly operationDuration: Histogram;
  /** `messaging.process.duration`: the consumer pipeline of one delivery, in seconds. */
  readonly processDuration: Histogram;
  /** `eda.consumer.dead_letters`: deliveries a subscription gave up on, by reason. */
  readonly deadLetters: Counter;
  /** `eda.consumer.duplicates_skipped`: deliveries the idempotency step found already handled. */
  readonly duplicatesSkipped: Counter;
  /** `eda.claim_check.offloaded.size`: bytes moved to the payload store by the claim check. */
  readonly claimCheckOffloaded: Counter;
  /** `eda.outbox.relay.batch.size`: records in one relay claim. */
  readonly relayBatchSize: Histogram;
  /** `eda.outbox.relay.batch.duration`: one claim-publish-complete cycle, in seconds. */
  readonly relayBatchDuration: Histogram;
  /** `eda.kafka.consumer.lag`: records behind the partition's end, per partition. */
  readonly kafkaConsumerLag: Gauge;
}

// The semantic conventions' advice for messaging duration histograms.
const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

// Internal switch for the benchmark's baseline (bench/tracing.bench.ts): with it set, no span
// or metric API is called at all. Not exported from the package.
let skipped = false;

/** Skips (or restores) every span and metric call; the envelope's traceparent is still carried. */
export function skipTelemetry(skip: boolean): void {
  skipped = skip;
}

/** What a ProxyTracerProvider delegates to while no SDK is registered. */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();

/**
 * True when nothing could observe a span, metric or propagated header: no tracer SDK behind
 * the global proxy, no propagator, no metrics SDK (or `skipTelemetry(true)`). Spans and
 * metrics then take the same path as skipped ones: three lookups instead of building no-op
 * spans and their attributes for every message.
 */
export function telemetrySkipped(): boolean {
  if (skipped) return true;
  const tracerProvider = trace.getTracerProvider();
  if (
    !(tracerProvider instanceof ProxyTracerProvider) ||
    tracerProvider.getDelegate() !== NOOP_TRACER_PROVIDER
  )
    return false;
  if (propagation.fields().length > 0) return false;
  return Object.getPrototypeOf(metrics.getMeterProvider().getMeter('')) === NOOP_METER_PROTOTYPE;
}

/** The no-op meter's class: what `getMeter` returns while no SDK is registered. */
const NOOP_METER_PROTOTYPE = Object.getPrototypeOf(createNoopMeter()) as object;

interface ScopeState {
  provider: MeterProvider | undefined;
  instruments: MessagingInstruments | undefined;
  tracerProvider: TracerProvider | undefined;
  tracer: Tracer | undefined;
}

const scopes = new Map<string, ScopeState>();

function stateOf(scope: InstrumentationScope): ScopeState {
  let state = scopes.get(scope.name);
  if (!state) {
    state = {
      provider: undefined,
      instruments: undefined,
      tracerProvider: undefined,
      tracer: undefined,
    };
    scopes.set(scope.name, state);
  }
  return state;
}

/**
 * The tracer of a scope. The global proxy provider follows an SDK registered later, but
 * `trace.disable()` replaces the proxy itself (tests, a reconfigured application): the tracer
 * is taken again whenever the global provider is another object.
 */
export function tracerFor(scope: InstrumentationScope): Tracer {
  const state = stateOf(scope);
  const provider = trace.getTracerProvider();
  if (provider !== state.tracerProvider || !state.tracer) {
    state.tracerProvider = provider;
    state.tracer = provider.getTracer(scope.name, scope.version);
  }
  return state.tracer;
}

/** The metric instruments of a scope, or undefined while no metrics SDK is registered. */
export function instrumentsFor(scope: InstrumentationScope): MessagingInstruments | undefined {
  if (skipped) return undefined;
  const state = stateOf(scope);
  const provider = metrics.getMeterProvider();
  if (provider === state.provider) return state.instruments;
  state.provider = provider;
  const meter = provider.getMeter(scope.name, scope.version);
  if (Object.getPrototypeOf(meter) === NOOP_METER_PROTOTYPE) {
    state.instruments = undefined;
    return undefined;
  }
  const durations = { advice: { explicitBucketBoundaries: DURATION_BUCKETS } };
  state.instruments = {
    sent: meter.createCounter('messaging.client.sent.messages', {
      unit: '{message}',
      description: 'Number of messages a producer attempted to send to the broker.',
    }),
    consumed: meter.createCounter('messaging.client.consumed.messages', {
      unit: '{message}',
      description: 'Number of messages that were delivered to the application.',
    }),
    operationDuration: meter.createHistogram('messaging.client.operation.duration', {
      unit: 's',
      description: 'Duration of a messaging operation initiated by a producer or consumer client.',
      ...durations,
    }),
    processDuration: meter.createHistogram('messaging.process.duration', {
      unit: 's',
      description: 'Duration of processing operation.',
      ...durations,
    }),
    deadLetters: meter.createCounter('eda.consumer.dead_letters', {
      unit: '{message}',
      description: 'Deliveries a subscription dead-lettered, by subscription and reason code.',
    }),
    duplicatesSkipped: meter.createCounter('eda.consumer.duplicates_skipped', {
      unit: '{message}',
      description: 'Deliveries the idempotency step acknowledged without running the handler.',
    }),
    claimCheckOffloaded: meter.createCounter('eda.claim_check.offloaded.size', {
      unit: 'By',
      description: 'Bytes of message data the claim check stored in the payload store.',
    }),
    relayBatchSize: meter.createHistogram('eda.outbox.relay.batch.size', {
      unit: '{record}',
      description: 'Records claimed by one outbox relay cycle.',
      advice: { explicitBucketBoundaries: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000] },
    }),
    relayBatchDuration: meter.createHistogram('eda.outbox.relay.batch.duration', {
      unit: 's',
      description: 'Duration of one outbox relay cycle: claim, publish, complete.',
      ...durations,
    }),
    kafkaConsumerLag: meter.createGauge('eda.kafka.consumer.lag', {
      unit: '{message}',
      description: 'Records between a consumer group member and the end of a partition.',
    }),
  };
  return state.instruments;
}

/** The meter of a scope, for observable instruments that their owner registers itself. */
export function meterFor(scope: InstrumentationScope) {
  return metrics.getMeterProvider().getMeter(scope.name, scope.version);
}

/** Seconds since `startedAt` (a `performance.now()` reading). */
export function secondsSince(startedAt: number): number {
  return (performance.now() - startedAt) / 1000;
}
