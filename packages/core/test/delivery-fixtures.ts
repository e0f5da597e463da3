// Shared by core's pipeline tests: a delivery as a transport hands it over, and one
// subscription's delivery handler with observers recorded.
import {
  attributesToStrings,
  createDeliveryHandler,
  createRetryPolicy,
  type Delivery,
  type DeliveryHandlerOptions,
} from '../src/adapter.js';
import {
  type BusEvent,
  createCodecs,
  type EnvelopeAttributes,
  type HandlerRegistration,
} from '../src/index.js';

const utf8 = new TextEncoder();

/** A `tick` event delivery with JSON data; attributes and data can be changed. */
export function deliveryOf(
  overrides: Partial<EnvelopeAttributes> = {},
  data: unknown = { n: 1 },
  attempt = 1,
): Delivery {
  const attributes: EnvelopeAttributes = {
    id: 'm-1',
    type: 'tick',
    source: 'clock',
    specversion: '1.0',
    kind: 'event',
    datacontenttype: 'application/json',
    ...overrides,
  };
  return {
    attributes: attributesToStrings(attributes),
    body: data === undefined ? new Uint8Array(0) : utf8.encode(JSON.stringify(data)),
    attempt,
    origin: { destination: 'tick', partition: 0, offset: '7' },
  };
}

/** The delivery handler of subscription `sub` of service `svc`, with 3 deliveries and no jitter. */
export function pipeline(
  registrations: HandlerRegistration[],
  overrides: Partial<DeliveryHandlerOptions> = {},
) {
  const events: BusEvent[] = [];
  const handle = createDeliveryHandler({
    service: 'svc',
    subscription: 'sub',
    system: 'memory',
    registrations: new Map(registrations.map((r) => [r.definition.type, r])),
    unhandled: 'dead-letter',
    codecs: createCodecs(),
    retryPolicy: createRetryPolicy({ maxDeliveries: 3, initialDelayMs: 100, jitter: 0 }),
    observers: [(event) => events.push(event)],
    ...overrides,
  });
  return { handle, events };
}
