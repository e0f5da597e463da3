// Rebuilds state from a stream: each recorded event is upcast to its definition's current
// version and applied by the `when` registered for its type. An event type with no `when` stops
// the replay, because state built while silently skipping a fact would be wrong.
import type { RecordedEvent } from './contracts/event-store.js';
import type { DomainEventDefinition, DomainOutputOf } from './domain-event.js';
import { ConfigurationError } from './errors.js';

/** How one domain event type changes the state: made by `when`. */
export interface StateChange<TState> {
  /** The domain event type it applies to. */
  readonly definition: DomainEventDefinition;
  /** Returns the state after the event, given its data upcast to the definition's version. */
  readonly apply: (state: TState, data: unknown, event: RecordedEvent) => TState;
}

/** Binds a state change to a domain event type: `when(StockReserved, (state, data) => ...)`. */
export function when<D extends DomainEventDefinition<unknown, unknown>, TState>(
  definition: D,
  apply: (state: TState, data: DomainOutputOf<D>, event: RecordedEvent) => TState,
): StateChange<TState> {
  return {
    definition: definition as DomainEventDefinition,
    apply: apply as StateChange<TState>['apply'],
  };
}

/** The data of `event` upcast from the version it was stored with to the definition's. */
function upcast(definition: DomainEventDefinition, event: RecordedEvent): unknown {
  if (event.schemaVersion > definition.version) {
    throw new ConfigurationError(
      `Event ${event.version} of stream "${event.stream}" is "${event.type}" v${event.schemaVersion}, newer than this code's v${definition.version}: deploy the newer definition before replaying.`,
    );
  }
  let data = event.data;
  for (let version = event.schemaVersion; version < definition.version; version++) {
    const step = definition.upcasters[version];
    if (!step) {
      throw new ConfigurationError(
        `Event ${event.version} of stream "${event.stream}" is "${event.type}" v${version} and its definition has no upcaster from v${version} to v${version + 1}.`,
      );
    }
    data = step(data);
  }
  return data;
}

/**
 * Folds `events` into a state, starting from `initial`: each event is upcast to its
 * definition's current version and applied by the `when` of its type, in the order given.
 * @throws ConfigurationError for an event type no `when` handles, an event newer than its
 * definition, or a missing upcaster.
 */
export function replay<TState>(
  events: readonly RecordedEvent[],
  initial: TState,
  changes: readonly StateChange<TState>[],
): TState {
  const byType = new Map(changes.map((change) => [change.definition.type, change]));
  let state = initial;
  for (const event of events) {
    const change = byType.get(event.type);
    if (!change) {
      throw new ConfigurationError(
        `Event ${event.version} of stream "${event.stream}" is "${event.type}", which no when() of this replay handles: add when(${event.type} definition, ...), so no fact is skipped.`,
      );
    }
    state = change.apply(state, upcast(change.definition, event), event);
  }
  return state;
}
