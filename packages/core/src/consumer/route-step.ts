// Routing by type: finds the handler registered for the message type, upcasts older data
// versions, refuses unknown newer ones, and validates the data against the definition.
import { DecodeError, EdaError } from '../errors.js';
import { validateData, versionOfDataschema } from '../message-definition.js';
import type { ConsumeMiddleware } from './consume-context.js';
import type { HandlerRegistration } from './handler-registration.js';

/** What to do with a message whose type no handler of the subscription registered. */
export type UnhandledPolicy = 'dead-letter' | 'ignore';

/** A message type arrived that no handler of the subscription handles. */
export class UnhandledMessageError extends EdaError {
  constructor(message: string) {
    super('EDA_UNHANDLED', message, { retryable: false });
  }
}

export function routeStep(
  registrations: ReadonlyMap<string, HandlerRegistration>,
  unhandled: UnhandledPolicy,
): ConsumeMiddleware {
  return async (context, next) => {
    const envelope = context.envelope!;
    const registration = registrations.get(envelope.type);
    if (!registration) {
      if (unhandled === 'ignore') {
        context.outcome = 'ignored';
        return;
      }
      throw new UnhandledMessageError(
        `Subscription "${context.subscription}" has no handler for "${envelope.type}" (handles: ${[...registrations.keys()].join(', ')}); set unhandled: 'ignore' to skip such messages.`,
      );
    }
    const { definition } = registration;
    // A message without a dataschema is taken as the current version (foreign producers).
    let version =
      envelope.dataschema === definition.dataschema
        ? definition.version
        : (versionOfDataschema(envelope.dataschema, envelope.type) ?? definition.version);
    if (version > definition.version) {
      throw new DecodeError(
        `Message ${envelope.id} is "${envelope.type}" v${version}, newer than v${definition.version} that this consumer knows: deploy the new definition to read it.`,
      );
    }
    let data: unknown = envelope.data;
    while (version < definition.version) {
      const upcast = registration.upcasters[version] ?? definition.upcasters[version];
      if (!upcast) {
        throw new DecodeError(
          `Message ${envelope.id} is "${envelope.type}" v${version} and there is no upcaster from v${version} to v${version + 1}.`,
        );
      }
      data = upcast(data);
      version += 1;
    }
    if (definition.validate) data = await validateData(definition, data);
    // A new envelope only when the data changed: the decoded one is reused by immediate retries.
    if (data !== envelope.data) context.envelope = { ...envelope, data };
    context.registration = registration;
    return next();
  };
}
