// Domain events never leave their service. TypeScript already refuses a domain event definition
// in `publish`, `send` and `on`; this is the same rule at run time, for callers that cast or use
// JavaScript, with an error that says what to do instead.
import { DomainEventError } from '../errors.js';

/**
 * @throws DomainEventError when `definition` is a domain event definition (`defineDomainEvent`).
 * @param use - what was attempted, such as `publish`, for the message.
 */
export function refuseDomainEvent(definition: unknown, use: 'publish' | 'send' | 'on'): void {
  const { kind, type } = (definition ?? {}) as { kind?: unknown; type?: unknown };
  if (kind !== 'domain-event') return;
  throw new DomainEventError(
    `"${String(type)}" is a domain event: it records this service's own state and is never ${use === 'on' ? 'subscribed to' : use === 'send' ? 'sent' : 'published'}. Publish an integration event (defineEvent) that says what other services may know, for example from the translation of createEventCommitter's commit(), which writes it to the outbox in the same transaction as the append.`,
  );
}
