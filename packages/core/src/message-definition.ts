// Message definitions: a message type is defined once, by the boundary that owns it (the
// publisher of an event, the handler of a command), and imported by everyone else. Publishing,
// sending and subscribing take the definition, so data types are checked at compile time and
// validated at run time through any Standard Schema library (zod, valibot, arktype...).
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { MessageKind } from './envelope.js';
import { ConfigurationError, ValidationError } from './errors.js';

/** Turns data of an older version into the shape of the next version. */
export type Upcaster = (data: unknown) => unknown;

/** A message type, defined once by its owning boundary. */
export interface MessageDefinition<
  TKind extends MessageKind = MessageKind,
  TInput = unknown,
  TOutput = TInput,
> {
  /** The type name carried in the envelope's `type`, such as `payment.completed`. */
  readonly type: string;
  readonly kind: TKind;
  /** The boundary that owns the definition: the only publisher of an event, the only handler of a command. */
  readonly owner: string;
  /** The current version of the data shape, starting at 1. */
  readonly version: number;
  /** Validates data at publish/send and at consume time, when `validate` is on. */
  readonly schema: StandardSchemaV1<TInput, TOutput> | undefined;
  /** Whether data is validated. Off for hot paths that trust their producers. */
  readonly validate: boolean;
  /** Upcasters by the version they read: `upcasters[1]` turns version 1 data into version 2. */
  readonly upcasters: Readonly<Record<number, Upcaster>>;
  /** `dataschema` of messages of this version: `urn:eda:<type>:v<version>`. */
  readonly dataschema: string;
  /** Type-level only: the data a publisher passes. */
  readonly '~input'?: TInput;
  /** Type-level only: the data a handler receives. */
  readonly '~output'?: TOutput;
}

/** A definition made by `defineEvent`: published to a topic, for zero or more subscribers. */
export type EventDefinition<TInput = unknown, TOutput = TInput> = MessageDefinition<
  'event',
  TInput,
  TOutput
>;
/** A definition made by `defineCommand`: sent to the one queue its owner handles. */
export type CommandDefinition<TInput = unknown, TOutput = TInput> = MessageDefinition<
  'command',
  TInput,
  TOutput
>;

/** Data a publisher or sender passes for a definition. */
export type InputOf<D> = D extends MessageDefinition<MessageKind, infer I, unknown> ? I : never;
/** Data a handler receives for a definition. */
export type OutputOf<D> = D extends MessageDefinition<MessageKind, unknown, infer O> ? O : never;

/** Options shared by `defineEvent` and `defineCommand`. */
export interface DefinitionOptions<TSchema extends StandardSchemaV1 | undefined> {
  /** Type name: letters, digits, `.`, `-`, `_` and `:`, such as `payment.completed`. */
  readonly type: string;
  /** The owning boundary (service) name. */
  readonly owner: string;
  /** Data version. @default 1 */
  readonly version?: number;
  /** A Standard Schema of the current version's data. @default undefined (no validation) */
  readonly schema?: TSchema;
  /** Validate data with `schema`. @default true when a schema is given */
  readonly validate?: boolean;
  /** Upcasters keyed by the older version they read (1 .. version-1). */
  readonly upcasters?: Readonly<Record<number, Upcaster>>;
}

const TYPE_NAME = /^[A-Za-z][A-Za-z0-9._:-]{0,199}$/;

/**
 * Checks the options every definition shares (type name, version, upcasters, validation) and
 * returns whether data is validated.
 * @throws ConfigurationError naming the type and the option that is wrong.
 */
export function checkDefinitionOptions(
  options: Omit<DefinitionOptions<StandardSchemaV1 | undefined>, 'owner'>,
): boolean {
  const { type, version = 1, schema, upcasters = {} } = options;
  if (!TYPE_NAME.test(type)) {
    throw new ConfigurationError(
      `Message type "${type}" is invalid: start with a letter and use letters, digits, ".", "-", "_" or ":" (at most 200).`,
    );
  }
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new ConfigurationError(
      `Message type "${type}" has version ${version}: use an integer >= 1.`,
    );
  }
  for (const from of Object.keys(upcasters).map(Number)) {
    if (!Number.isSafeInteger(from) || from < 1 || from >= version) {
      throw new ConfigurationError(
        `Message type "${type}" has an upcaster from version ${from}: upcasters read versions 1 to ${version - 1}.`,
      );
    }
  }
  const validate = options.validate ?? schema !== undefined;
  if (validate && !schema)
    throw new ConfigurationError(`Message type "${type}" asks for validation but has no schema.`);
  return validate;
}

function define<TKind extends MessageKind>(
  kind: TKind,
  options: DefinitionOptions<StandardSchemaV1 | undefined>,
): MessageDefinition<TKind> {
  const { type, owner, version = 1, schema, upcasters = {} } = options;
  const validate = checkDefinitionOptions(options);
  if (!owner)
    throw new ConfigurationError(
      `Message type "${type}" needs an owner: the service that ${kind === 'event' ? 'publishes' : 'handles'} it.`,
    );
  return {
    type,
    kind,
    owner,
    version,
    schema,
    validate,
    upcasters,
    dataschema: `urn:eda:${type}:v${version}`,
  };
}

/** Defines an event, owned by the service that publishes it. Data types come from the schema. */
export function defineEvent<S extends StandardSchemaV1>(
  options: DefinitionOptions<S> & { readonly schema: S },
): EventDefinition<StandardSchemaV1.InferInput<S>, StandardSchemaV1.InferOutput<S>>;
/** Defines an event without a schema: give the data type as the type argument. */
export function defineEvent<TData>(options: DefinitionOptions<undefined>): EventDefinition<TData>;
export function defineEvent(
  options: DefinitionOptions<StandardSchemaV1 | undefined>,
): EventDefinition {
  return define('event', options);
}

/** Defines a command, owned by the service that handles it. Data types come from the schema. */
export function defineCommand<S extends StandardSchemaV1>(
  options: DefinitionOptions<S> & { readonly schema: S },
): CommandDefinition<StandardSchemaV1.InferInput<S>, StandardSchemaV1.InferOutput<S>>;
/** Defines a command without a schema: give the data type as the type argument. */
export function defineCommand<TData>(
  options: DefinitionOptions<undefined>,
): CommandDefinition<TData>;
export function defineCommand(
  options: DefinitionOptions<StandardSchemaV1 | undefined>,
): CommandDefinition {
  return define('command', options);
}

/** Reads the version out of a `dataschema` written by a definition (`urn:eda:<type>:v<n>`). */
export function versionOfDataschema(
  dataschema: string | undefined,
  type: string,
): number | undefined {
  if (dataschema === undefined) return undefined;
  const match = /:v(\d+)$/.exec(dataschema);
  if (!match || !dataschema.startsWith(`urn:eda:${type}:`)) return undefined;
  return Number(match[1]);
}

/**
 * Validates data against the definition's schema (when validation is on) and returns the
 * schema's output.
 * @throws ValidationError listing the issues.
 */
export async function validateData(
  definition: Pick<MessageDefinition, 'type' | 'version' | 'schema' | 'validate'>,
  data: unknown,
): Promise<unknown> {
  if (!definition.validate || !definition.schema) return data;
  const result = await definition.schema['~standard'].validate(data);
  if (result.issues) {
    const issues = result.issues.map((issue) => ({
      message: issue.message,
      ...(issue.path ? { path: issue.path.map((p) => (typeof p === 'object' ? p.key : p)) } : {}),
    }));
    const summary = issues
      .map((i) => (i.path?.length ? `${i.path.join('.')}: ${i.message}` : i.message))
      .join('; ');
    throw new ValidationError(
      `Data of "${definition.type}" v${definition.version} is invalid: ${summary}`,
      issues,
    );
  }
  return result.value;
}
