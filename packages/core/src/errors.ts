// One error base for the whole toolkit. The Symbol.for marker makes `isInstance` work even when
// two copies of @eda/core are installed side by side (instanceof would not).
const marker = Symbol.for('@eda/core.error');

/** Options of an `EdaError` (and of every subclass). */
export interface EdaErrorOptions {
  /** The underlying error, kept for logs and for `error.cause` chains. */
  cause?: unknown;
  /**
   * Whether trying the same message again can succeed. Consumers dead-letter a message at once
   * when its error is not retryable.
   * @default true
   */
  retryable?: boolean;
}

/** Base class of every error thrown by `@eda` packages. */
export class EdaError extends Error {
  /** A stable, machine-readable code such as `EDA_DECODE`. Dead-letter headers carry it. */
  readonly code: string;
  /** Whether a retry of the same message can succeed. */
  readonly retryable: boolean;

  constructor(code: string, message: string, options: EdaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? true;
    Object.defineProperty(this, marker, { value: true });
  }

  /**
   * True for an `@eda` error of this class or a subclass, from this copy of the package or
   * another: `EdaError.isInstance` accepts every `@eda` error, `ConfigurationError.isInstance`
   * only configuration errors. Classes are matched by name along the prototype chain, since two
   * copies of the package have two distinct classes of the same name.
   */
  static isInstance<T extends EdaError>(
    this: abstract new (
      ...args: never[]
    ) => T,
    value: unknown,
  ): value is T {
    if (typeof value !== 'object' || value === null || !(marker in value)) return false;
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class it is called on, on purpose.
    const wanted = this.name;
    if (wanted === 'EdaError') return true; // the marker is enough
    for (let proto = Object.getPrototypeOf(value); proto; proto = Object.getPrototypeOf(proto))
      if (proto.constructor?.name === wanted) return true;
    return false;
  }
}

/** A factory or function was given options that cannot work. Fix the options; nothing was sent. */
export class ConfigurationError extends EdaError {
  constructor(message: string, options: EdaErrorOptions = {}) {
    super('EDA_CONFIGURATION', message, { ...options, retryable: false });
  }
}

/** A received message is not a valid envelope (bad headers, bad body). It is dead-lettered at once. */
export class DecodeError extends EdaError {
  constructor(message: string, options: EdaErrorOptions = {}) {
    super('EDA_DECODE', message, { ...options, retryable: false });
  }
}

/** Data does not match the schema of its message definition. */
export class ValidationError extends EdaError {
  /** The issues reported by the schema, each with a message and an optional path. */
  readonly issues: readonly ValidationIssue[];

  constructor(message: string, issues: readonly ValidationIssue[], options: EdaErrorOptions = {}) {
    super('EDA_VALIDATION', message, { ...options, retryable: false });
    this.issues = issues;
  }
}

/** One problem found by a schema. */
export interface ValidationIssue {
  readonly message: string;
  readonly path?: readonly PropertyKey[];
}

/** The operation needs a capability that this adapter does not have (for example commands on a log). */
export class CapabilityError extends EdaError {
  constructor(message: string, options: EdaErrorOptions = {}) {
    super('EDA_CAPABILITY', message, { ...options, retryable: false });
  }
}

/** A message of a type is published or handled by a boundary that does not own that type. */
export class OwnershipError extends EdaError {
  constructor(message: string) {
    super('EDA_OWNERSHIP', message, { retryable: false });
  }
}

/** A claim-check payload is missing, altered, too large or referenced from outside the store's scope. */
export class PayloadError extends EdaError {
  constructor(
    code:
      | 'EDA_PAYLOAD_MISSING'
      | 'EDA_PAYLOAD_INTEGRITY'
      | 'EDA_PAYLOAD_FORGED'
      | 'EDA_PAYLOAD_TOO_LARGE'
      | 'EDA_PAYLOAD_UNAVAILABLE',
    message: string,
    options: EdaErrorOptions = {},
  ) {
    super(code, message, { retryable: code === 'EDA_PAYLOAD_UNAVAILABLE', ...options });
  }
}

/** A dependency (broker, store) could not be reached or answered too late. Retrying later may work. */
export class UnavailableError extends EdaError {
  /**
   * Set when a store the consumer pipeline itself needs (the idempotency store), not the
   * message, failed: the retry policy then defers the message by this many ms without spending
   * a delivery, so an outage never dead-letters it. Unset (the default) it counts as an attempt.
   */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: EdaErrorOptions & { retryAfterMs?: number } = {}) {
    const { retryAfterMs, ...rest } = options;
    super('EDA_UNAVAILABLE', message, { ...rest, retryable: true });
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * The handler's message was claimed by another consumer that is still working on it; try later.
 * This is never the message's fault: the retry policy defers it by `retryAfterMs` without
 * spending a delivery, and never dead-letters it for this reason.
 */
export class InProgressError extends EdaError {
  /** How long to wait before the claim can have expired (lease left plus jitter), when known. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: { retryAfterMs?: number } = {}) {
    super('EDA_IN_PROGRESS', message, { retryable: true });
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * A domain event (made by `defineDomainEvent`) was given to `publish`, `send` or `on`. Domain
 * events record how a service stores its own state: they are appended to a stream and never
 * leave the service. Publish an integration event (`defineEvent`) derived from it instead,
 * for example in the translation of `createEventCommitter`'s `commit`.
 */
export class DomainEventError extends EdaError {
  constructor(message: string) {
    super('EDA_DOMAIN_EVENT', message, { retryable: false });
  }
}

/** How long a handler that met a version conflict waits before it runs again (see below). */
export const VERSION_CONFLICT_RETRY_MS = 20;

/**
 * An append to an event stream expected another version than the stream has: another writer
 * appended first (optimistic concurrency). Nothing was appended; the transaction should be
 * rolled back. Read the stream again, decide again, and append with the new version.
 *
 * Thrown from a handler, it is never the message's fault: the retry policy delivers the message
 * again after `retryAfterMs` without spending its delivery budget (as for a claim held
 * elsewhere), so busy streams with many writers never dead-letter a message for losing races.
 */
export class StreamVersionConflictError extends EdaError {
  /** The stream appended to. */
  readonly stream: string;
  /** The version the caller expected the stream to be at. */
  readonly expectedVersion: number;
  /** The stream's committed version when the conflict was found, when it could be read. */
  readonly actualVersion: number | undefined;
  /** The wait before a handler that threw this runs again. */
  readonly retryAfterMs = VERSION_CONFLICT_RETRY_MS;

  constructor(
    stream: string,
    expectedVersion: number,
    actualVersion: number | undefined,
    options: EdaErrorOptions = {},
  ) {
    const actual = actualVersion === undefined ? 'another version' : `version ${actualVersion}`;
    super(
      'EDA_VERSION_CONFLICT',
      `Stream "${stream}" is at ${actual}, not at the expected version ${expectedVersion}: another writer appended first. Nothing was appended; roll back, read the stream again and decide again.`,
      { ...options, retryable: true },
    );
    this.stream = stream;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/** The component was closed; create a new one. */
export class ClosedError extends EdaError {
  constructor(what: string) {
    super('EDA_CLOSED', `${what} is closed: create a new one to continue.`, { retryable: false });
  }
}

/** Human-readable text of any thrown value, for logs and dead-letter reasons. */
export function describeError(error: unknown): { type: string; code: string; message: string } {
  if (EdaError.isInstance(error))
    return { type: error.name, code: error.code, message: error.message };
  if (error instanceof Error)
    return { type: error.name, code: 'EDA_HANDLER', message: error.message };
  return { type: typeof error, code: 'EDA_HANDLER', message: String(error) };
}
