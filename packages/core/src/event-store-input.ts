// What every event store checks before it writes: the stream name, the expected version and the
// events, each validated by its definition's schema. Stores call `prepareAppend` first, so a bad
// append fails the same way on every store and nothing reaches the database.
import type { NewDomainEvent } from './domain-event.js';
import { MAX_ENTITY_VERSION } from './envelope.js';
import { ConfigurationError } from './errors.js';
import { validateData } from './message-definition.js';

/** A domain event ready to store: its type, the version of its data shape, its validated data. */
export interface PreparedDomainEvent {
  readonly type: string;
  readonly schemaVersion: number;
  /** The schema's output (or the data as given without a schema); a JSON value. */
  readonly data: unknown;
}

/**
 * The longest stream name accepted: room for a prefix and a UUID, short enough for an index key.
 */
export const MAX_STREAM_NAME_LENGTH = 200;

/**
 * Checks an append's arguments and validates each event's data.
 * @throws ConfigurationError for a bad stream name, expected version or event (naming it, and
 * when the stream would pass the largest entity version); ValidationError for data its schema
 * refuses.
 */
export async function prepareAppend(
  store: string,
  stream: string,
  expectedVersion: number,
  events: readonly NewDomainEvent[],
): Promise<PreparedDomainEvent[]> {
  assertStreamName(store, stream);
  if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
    throw new ConfigurationError(
      `${store}: expected version ${expectedVersion} of stream "${stream}" is invalid: use the version you read (an integer >= 0; 0 for a new stream).`,
    );
  }
  if (!Array.isArray(events) || events.length === 0) {
    throw new ConfigurationError(
      `${store}: append to stream "${stream}" needs at least one event: [domainEvent(Definition, data)].`,
    );
  }
  // Stream versions become the entity version of the integration events derived from them.
  if (expectedVersion + events.length > MAX_ENTITY_VERSION) {
    throw new ConfigurationError(
      `${store}: stream "${stream}" would pass version ${MAX_ENTITY_VERSION}, the largest entity version: start a new stream (snapshot the state into it).`,
    );
  }
  const prepared: PreparedDomainEvent[] = [];
  for (const event of events) {
    const definition = event?.definition;
    if (definition?.kind !== 'domain-event') {
      throw new ConfigurationError(
        `${store}: stream "${stream}" can only hold domain events (defineDomainEvent); got ${describeDefinition(definition)}. Integration events are published, not appended.`,
      );
    }
    const data = await validateData(definition, event.data);
    prepared.push({ type: definition.type, schemaVersion: definition.version, data });
  }
  return prepared;
}

/** @throws ConfigurationError unless `stream` is a non-empty string of at most 200 characters without NUL. */
export function assertStreamName(store: string, stream: unknown): asserts stream is string {
  if (
    typeof stream !== 'string' ||
    stream.length === 0 ||
    stream.length > MAX_STREAM_NAME_LENGTH ||
    stream.includes('\u0000')
  ) {
    throw new ConfigurationError(
      `${store}: stream name ${JSON.stringify(stream)} is invalid: use 1 to ${MAX_STREAM_NAME_LENGTH} characters (no NUL), such as "stock-sku-1".`,
    );
  }
}

function describeDefinition(definition: unknown): string {
  const { kind, type } = (definition ?? {}) as { kind?: unknown; type?: unknown };
  if (kind === 'event' || kind === 'command') return `the ${kind} "${String(type)}"`;
  return 'something that is not a domain event definition';
}
