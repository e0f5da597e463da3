// Domain events: how a service stores its own state, as facts appended to a stream. They are a
// different kind of definition from integration events (`defineEvent`): internal to the service,
// appended to an event store, never published, sent or subscribed to. The outside world learns
// only what a translation publishes (see event-committer.ts).
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { ConfigurationError } from './errors.js';
import { checkDefinitionOptions, type Upcaster } from './message-definition.js';

/** A domain event type, made by `defineDomainEvent`: appended to a stream, never published. */
export interface DomainEventDefinition<TInput = unknown, TOutput = TInput> {
  /** The type name stored with each event, such as `stock.reserved`. */
  readonly type: string;
  /** Always `domain-event`: what keeps it out of `publish`, `send` and `on`. */
  readonly kind: 'domain-event';
  /** The current version of the data shape, starting at 1; stored with each event. */
  readonly version: number;
  /** Validates data when it is appended, when `validate` is on. */
  readonly schema: StandardSchemaV1<TInput, TOutput> | undefined;
  /** Whether appended data is validated. */
  readonly validate: boolean;
  /** Upcasters by the version they read: `upcasters[1]` turns version 1 data into version 2. */
  readonly upcasters: Readonly<Record<number, Upcaster>>;
  /** Type-level only: the data an append takes. */
  readonly '~input'?: TInput;
  /** Type-level only: the data a reader gets. */
  readonly '~output'?: TOutput;
}

/** Options of `defineDomainEvent`. */
export interface DomainEventOptions<TSchema extends StandardSchemaV1 | undefined> {
  /** Type name: letters, digits, `.`, `-`, `_` and `:`, such as `stock.reserved`. */
  readonly type: string;
  /** Data version. @default 1 */
  readonly version?: number;
  /** A Standard Schema of the current version's data. @default undefined (no validation) */
  readonly schema?: TSchema;
  /** Validate data with `schema` when it is appended. @default true when a schema is given */
  readonly validate?: boolean;
  /** Upcasters keyed by the older version they read (1 .. version-1), applied by `replay`. */
  readonly upcasters?: Readonly<Record<number, Upcaster>>;
}

/**
 * Defines a domain event: an internal fact of one service, appended to an event stream.
 * It has no owner because it never leaves its service: `publish`, `send` and `on` refuse it
 * (at compile time, and at run time with a `DomainEventError`).
 * @throws ConfigurationError for an invalid type name, version, upcaster or validation option.
 */
export function defineDomainEvent<S extends StandardSchemaV1>(
  options: DomainEventOptions<S> & { readonly schema: S },
): DomainEventDefinition<StandardSchemaV1.InferInput<S>, StandardSchemaV1.InferOutput<S>>;
/** Defines a domain event without a schema: give the data type as the type argument. */
export function defineDomainEvent<TData>(
  options: DomainEventOptions<undefined>,
): DomainEventDefinition<TData>;
export function defineDomainEvent(
  options: DomainEventOptions<StandardSchemaV1 | undefined>,
): DomainEventDefinition {
  const validate = checkDefinitionOptions(options);
  const { type, version = 1, schema, upcasters = {} } = options;
  return { type, kind: 'domain-event', version, schema, validate, upcasters };
}

/** Data an append takes for a domain event definition. */
export type DomainInputOf<D> = D extends DomainEventDefinition<infer I, unknown> ? I : never;
/** Data a reader gets for a domain event definition. */
export type DomainOutputOf<D> = D extends DomainEventDefinition<unknown, infer O> ? O : never;

/** A domain event to append: its definition and its data. Make one with `domainEvent`. */
export interface NewDomainEvent<D extends DomainEventDefinition = DomainEventDefinition> {
  readonly definition: D;
  readonly data: DomainInputOf<D>;
}

/** A domain event to append, typed by its definition: `domainEvent(StockReserved, { sku, qty })`. */
export function domainEvent<D extends DomainEventDefinition<unknown, unknown>>(
  definition: D,
  data: DomainInputOf<D>,
): NewDomainEvent<D> {
  if (definition?.kind !== 'domain-event') {
    throw new ConfigurationError(
      `domainEvent() takes a definition made by defineDomainEvent; "${String((definition as { type?: unknown })?.type)}" is not one.`,
    );
  }
  return { definition, data };
}

/** Whether `value` is a domain event definition (made by `defineDomainEvent`). */
export function isDomainEventDefinition(value: unknown): value is DomainEventDefinition {
  return (value as { kind?: unknown } | null)?.kind === 'domain-event';
}
