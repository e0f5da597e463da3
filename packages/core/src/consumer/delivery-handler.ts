// Assembles the consumer pipeline for one subscription and turns its result into a
// disposition: ack on success, otherwise retry by policy (immediate, then delayed), then
// dead-letter with the reason. Decoding happens once, outside the retries: a message that
// cannot be decoded goes to dead-letter at once.
import type { Codecs } from '../codec.js';
import type { PayloadStore } from '../contracts/payload-store.js';
import type { Delivery, DeliveryHandler, Disposition } from '../contracts/transport.js';
import { describeError } from '../errors.js';
import { type BusObserver, notifyAll } from '../observer.js';
import { deferredDelay, dispositionForFailure, type RetryPolicy } from '../retry-policy.js';
import { CORE_SCOPE } from '../telemetry/core-scope.js';
import { instrumentsFor, secondsSince } from '../telemetry/instruments.js';
import { inProcessSpan, type ProcessSpan, type ProcessSpanParent } from '../tracing.js';
import { claimCheckStep } from './claim-check-step.js';
import {
  type ConsumeContext,
  type ConsumeMiddleware,
  composeMiddleware,
} from './consume-context.js';
import { decodeStep } from './decode-step.js';
import type { HandlerRegistration } from './handler-registration.js';
import { handlerSlotsStep } from './handler-slots-step.js';
import { handlerStep } from './handler-step.js';
import { type IdempotencyOptions, idempotencyStep } from './idempotency-step.js';
import { redriveStep } from './redrive-step.js';
import { routeStep, type UnhandledPolicy } from './route-step.js';

/** Everything one subscription's pipeline needs. */
export interface DeliveryHandlerOptions {
  readonly service: string;
  readonly subscription: string;
  /** The transport's name: `messaging.system` of deliveries that do not name their own. */
  readonly system: string;
  /** What each `process` span's parent is. @default 'ambient' */
  readonly tracingParent?: ProcessSpanParent | undefined;
  readonly registrations: ReadonlyMap<string, HandlerRegistration>;
  readonly unhandled: UnhandledPolicy;
  readonly codecs: Codecs;
  readonly retryPolicy: RetryPolicy;
  readonly payloadStore?: PayloadStore | undefined;
  readonly maxPayloadBytes?: number | undefined;
  readonly idempotency?: IdempotencyOptions | undefined;
  /** User middleware, run after routing and dedupe, around the handler. */
  readonly middleware?: readonly ConsumeMiddleware[] | undefined;
  /** Handlers running at once, when the transport delivers more at once than that. */
  readonly handlerSlots?: number | undefined;
  readonly observers: readonly BusObserver[];
}

/**
 * Builds the consumer pipeline of one subscription as the `DeliveryHandler` a transport calls
 * per delivery; the transport settles the delivery as the returned `Disposition` says.
 */
export function createDeliveryHandler(options: DeliveryHandlerOptions): DeliveryHandler {
  const { service, subscription, retryPolicy, observers } = options;
  const decode = composeMiddleware([decodeStep(options.codecs)]);
  const processMessage = composeMiddleware([
    redriveStep(),
    claimCheckStep({
      store: options.payloadStore,
      codecs: options.codecs,
      ...(options.maxPayloadBytes === undefined ? {} : { maxBytes: options.maxPayloadBytes }),
    }),
    routeStep(options.registrations, options.unhandled),
    ...(options.idempotency
      ? [
          idempotencyStep(options.idempotency, (context) =>
            notifyAll(observers, {
              kind: 'lease-lost',
              service,
              subscription,
              message: context.envelope!,
            }),
          ),
        ]
      : []),
    ...(options.handlerSlots === undefined ? [] : [handlerSlotsStep(options.handlerSlots)]),
    ...(options.middleware ?? []),
    handlerStep(),
  ]);

  const fail = (context: ConsumeContext, error: unknown, span: ProcessSpan): Disposition => {
    const disposition = dispositionForFailure(
      retryPolicy,
      error,
      context.delivery.attempt,
      subscription,
    );
    const message = context.envelope;
    const described = describeError(error);
    span.fail(described.type, described.message);
    if (disposition.type === 'retry') {
      notifyAll(observers, {
        kind: 'retry',
        service,
        subscription,
        message,
        attempt: context.delivery.attempt,
        delayMs: disposition.delayMs,
        reason: disposition.reason,
        deferred: disposition.deferred === true,
      });
    } else if (disposition.type === 'dead-letter') {
      notifyAll(observers, {
        kind: 'dead-lettered',
        service,
        subscription,
        message,
        reason: disposition.reason,
      });
    }
    return disposition;
  };

  const tracingParent = options.tracingParent ?? 'ambient';

  const handle = async (delivery: Delivery, span: ProcessSpan): Promise<Disposition> => {
    const context: ConsumeContext = {
      delivery,
      subscription,
      system: delivery.system ?? options.system,
      traceparent: span.traceparent,
      envelope: undefined,
      registration: undefined,
      outcome: undefined,
    };
    try {
      await decode(context);
    } catch (error) {
      return fail(context, error, span);
    }
    const decoded = context.envelope!;
    for (let tryIndex = 0; ; tryIndex++) {
      context.envelope = decoded;
      context.registration = undefined;
      context.outcome = undefined;
      const startedAt = Date.now();
      try {
        await processMessage(context);
        if (context.outcome === 'duplicate') {
          instrumentsFor(CORE_SCOPE)?.duplicatesSkipped.add(1, {
            'eda.subscription': subscription,
            'messaging.destination.name': delivery.origin.destination,
          });
        }
        notifyAll(observers, {
          kind: 'consumed',
          service,
          subscription,
          message: context.envelope,
          outcome: context.outcome ?? 'handled',
          attempt: delivery.attempt,
          startedAt,
        });
        return { type: 'ack' };
      } catch (error) {
        // An in-progress claim or an unreachable idempotency store will not recover within this
        // delivery: defer it at once.
        if (
          tryIndex >= retryPolicy.immediateRetries ||
          !retryPolicy.isRetryable(error) ||
          deferredDelay(error) !== undefined
        )
          return fail(context, error, span);
      }
    }
  };

  return async (delivery: Delivery): Promise<Disposition> => {
    const system = delivery.system ?? options.system;
    const instruments = instrumentsFor(CORE_SCOPE);
    if (!instruments)
      return inProcessSpan(delivery, system, tracingParent, (span) => handle(delivery, span));
    const startedAt = performance.now();
    const disposition = await inProcessSpan(delivery, system, tracingParent, (span) =>
      handle(delivery, span),
    );
    const group = delivery.spanAttributes?.()['messaging.consumer.group.name'];
    const attributes = {
      'messaging.system': system,
      'messaging.operation.name': 'process',
      'messaging.destination.name': delivery.origin.destination,
      ...(group === undefined ? {} : { 'messaging.consumer.group.name': group }),
    };
    instruments.consumed.add(1, attributes);
    const failed =
      disposition.type === 'ack'
        ? undefined
        : disposition.type === 'dead-letter'
          ? disposition.reason.errorType
          : 'retry';
    instruments.processDuration.record(secondsSince(startedAt), {
      ...attributes,
      ...(failed === undefined ? {} : { 'error.type': failed }),
    });
    if (disposition.type === 'dead-letter') {
      instruments.deadLetters.add(1, {
        'eda.subscription': subscription,
        'eda.dead_letter.reason': disposition.reason.code,
        'messaging.destination.name': delivery.origin.destination,
      });
    }
    return disposition;
  };
}
