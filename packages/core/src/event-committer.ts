// The one place where a service's state meets its communication: `commit` appends domain events
// to a stream and, in the same transaction, writes to the outbox the integration events that a
// translation derives from them. The translation is where a team decides what the outside world
// may know; nothing else of the stream leaves the service.
import { type Codec, jsonCodec } from './codec.js';
import type { EventStore } from './contracts/event-store.js';
import type { OutboxStore } from './contracts/outbox-store.js';
import type { OutgoingMessage } from './contracts/transport.js';
import type { DomainEventDefinition, DomainInputOf, NewDomainEvent } from './domain-event.js';
import { ConfigurationError, OwnershipError } from './errors.js';
import type { EventDefinition, InputOf } from './message-definition.js';
import { prepareMessage } from './publisher/prepare-message.js';
import { refuseDomainEvent } from './publisher/refuse-domain-event.js';

/** Options of `createEventCommitter`. */
export interface EventCommitterOptions<TTransaction> {
  /** This service's name: the `source` of the integration events, and the owner they must name. */
  readonly service: string;
  /** Where the domain events are appended. */
  readonly store: EventStore<TTransaction>;
  /** Where the integration events are written, in the same transaction as the append. */
  readonly outbox: OutboxStore<TTransaction>;
  /** Encodes integration event data. @default JSON */
  readonly codec?: Codec;
}

/** Options of an integration event written by a translation. */
export interface TranslatedEventOptions {
  /**
   * The entity consumers see, which keeps per-entity order (outbox aggregate, Kafka key) and
   * keys entity-version dedupe. @default the stream name
   */
  readonly partitionKey?: string;
  /** What the event is about; entity-version dedupe reads it before `partitionKey`. @default none */
  readonly subject?: string;
  /** Correlation id of the workflow. @default inherited from the message being handled, else the event's id */
  readonly correlationId?: string;
  /** CloudEvents extension attributes of your own (see `MessageOptions.extensions`). */
  readonly extensions?: Readonly<Record<string, string>>;
}

/** Writes one integration event from a translation: typed like `bus.publish`. */
export type PublishTranslated = <D extends EventDefinition<unknown, unknown>>(
  definition: D,
  data: InputOf<D>,
  options?: TranslatedEventOptions,
) => void;

/** A domain event of a commit, with the stream version it was appended as. */
export type AppendedEvent<E extends NewDomainEvent = NewDomainEvent> = E & {
  readonly stream: string;
  /** Its version in the stream: the entity `version` of the integration events derived from it. */
  readonly version: number;
};

/**
 * Derives integration events from one appended domain event by calling `publish` zero or more
 * times. Called once per domain event, in version order, inside the transaction; throwing rolls
 * the whole commit back.
 */
export type Translation<E extends NewDomainEvent = NewDomainEvent> = (
  event: AppendedEvent<E>,
  publish: PublishTranslated,
) => void | Promise<void>;

/** Options of `commit`. */
export interface CommitOptions<TTransaction, E extends NewDomainEvent = NewDomainEvent> {
  /** The translation to integration events. Without it nothing is published. */
  readonly publish?: Translation<E>;
  /**
   * Commit inside this open transaction (with your other writes) instead of a new one; you
   * commit or roll it back.
   */
  readonly transaction?: TTransaction;
}

/** What a commit wrote. */
export interface CommitResult {
  /** The stream's version after the append. */
  readonly version: number;
  /** The integration events written to the outbox. */
  readonly published: readonly OutgoingMessage[];
}

/** Appends domain events and writes their translation to the outbox atomically. */
export interface EventCommitter<TTransaction> {
  /**
   * Appends `events` to `stream` at `expectedVersion` and, in the same transaction, writes to
   * the outbox every integration event `options.publish` derives from them, each carrying the
   * stream version of its domain event as its entity `version` (and the stream name as its
   * partition key unless the translation gives one). Both are written, or neither.
   * @throws StreamVersionConflictError when another writer appended first (nothing written);
   * ValidationError for invalid data; OwnershipError for an integration event another service
   * owns; DomainEventError when a translation publishes a domain event.
   */
  commit<E extends NewDomainEvent>(
    stream: string,
    expectedVersion: number,
    events: readonly E[],
    options?: CommitOptions<TTransaction, E>,
  ): Promise<CommitResult>;
}

/** Whether an appended or new event is of `definition`, narrowing its data type. */
export function isEventOf<D extends DomainEventDefinition<unknown, unknown>>(
  definition: D,
  event: { readonly definition?: unknown; readonly type?: unknown },
): event is NewDomainEvent<D> & { readonly data: DomainInputOf<D> } {
  return event.definition === definition;
}

/**
 * Creates the committer of a service that keeps its state as event streams: domain events go
 * to `store`, and only what a translation publishes goes to `outbox`, in one transaction.
 * @throws ConfigurationError without a service, store or outbox.
 */
export function createEventCommitter<TTransaction>(
  options: EventCommitterOptions<TTransaction>,
): EventCommitter<TTransaction> {
  const { service, store, outbox, codec = jsonCodec } = options;
  if (!service)
    throw new ConfigurationError(
      'createEventCommitter needs a service name: the source of the integration events.',
    );
  if (typeof store?.append !== 'function' || typeof outbox?.add !== 'function') {
    throw new ConfigurationError(
      `createEventCommitter of "${service}" needs an event store (store) and an outbox store (outbox) on the same database.`,
    );
  }

  const translate = async <E extends NewDomainEvent>(
    stream: string,
    expectedVersion: number,
    events: readonly E[],
    translation: Translation<E>,
  ): Promise<OutgoingMessage[]> => {
    const pending: Promise<OutgoingMessage>[] = [];
    for (const [i, event] of events.entries()) {
      const version = expectedVersion + i + 1;
      const publish: PublishTranslated = (definition, data, messageOptions = {}) => {
        refuseDomainEvent(definition, 'publish');
        if (definition?.kind !== 'event') {
          throw new ConfigurationError(
            `The translation of stream "${stream}" published "${String(definition?.type)}", which is not an event: a translation writes integration events (defineEvent).`,
          );
        }
        if (definition.owner !== service) {
          throw new OwnershipError(
            `"${definition.type}" is owned by "${definition.owner}": only that service publishes it, "${service}" may subscribe to it.`,
          );
        }
        pending.push(
          // No transport here: the create span names the outbox, as a bus without one does.
          prepareMessage(
            service,
            { system: 'outbox', name: definition.type },
            codec,
            definition,
            data,
            {
              partitionKey: stream,
              ...messageOptions,
              version,
            },
          ),
        );
      };
      await translation({ ...event, stream, version }, publish);
    }
    return Promise.all(pending);
  };

  const commitIn = async <E extends NewDomainEvent>(
    transaction: TTransaction,
    stream: string,
    expectedVersion: number,
    events: readonly E[],
    translation: Translation<E> | undefined,
  ): Promise<CommitResult> => {
    // The translation runs first: a refused integration event fails before anything is written.
    const published = translation
      ? await translate(stream, expectedVersion, events, translation)
      : [];
    const { version } = await store.append(transaction, stream, expectedVersion, events);
    if (published.length > 0) await outbox.add(transaction, published);
    return { version, published };
  };

  return {
    commit(stream, expectedVersion, events, commitOptions = {}) {
      const { publish: translation, transaction } = commitOptions;
      if (transaction !== undefined)
        return commitIn(transaction, stream, expectedVersion, events, translation);
      return store.transaction((opened) =>
        commitIn(opened, stream, expectedVersion, events, translation),
      );
    },
  };
}
