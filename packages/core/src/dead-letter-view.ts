// Builds the operator's view of a stored dead letter from its headers, the same way on every
// transport, and decodes its data where it can.
import type { DeadLetter } from './contracts/dead-letter-admin.js';
import { DEAD_LETTER_HEADERS, readDeadLetterReason } from './dead-letter-headers.js';

/** What a transport read back from its dead-letter store. */
export interface StoredDeadLetter {
  readonly handle: string;
  readonly subscription: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The message's attribute strings, as the transport maps them from its headers. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/**
 * The dead letter as `DeadLetterAdmin` returns it. A message that reached the store without the
 * reason headers (written there by hand) gets the code `EDA_UNKNOWN`, so it is still listed.
 */
export function deadLetterOf(stored: StoredDeadLetter): DeadLetter {
  const reason = readDeadLetterReason(stored.headers);
  const failedAt = stored.headers[DEAD_LETTER_HEADERS.failedAt];
  return {
    handle: stored.handle,
    subscription: stored.subscription,
    attributes: stored.attributes,
    reason: {
      code: reason?.code ?? 'EDA_UNKNOWN',
      errorType: reason?.errorType ?? '',
      message: reason?.message ?? 'The message carries no dead-letter reason headers.',
      attempts: reason?.attempts ?? 0,
      subscription: reason?.subscription || stored.subscription,
    },
    destination: reason?.destination ?? '',
    ...(failedAt === undefined ? {} : { failedAt }),
    headers: stored.headers,
    body: stored.body,
  };
}

/** A dead letter's data as far as it can be read without the handler's code. */
export type DecodedDeadLetterData =
  | { readonly kind: 'json'; readonly data: unknown }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'claim-check'; readonly reference: string }
  | { readonly kind: 'unreadable'; readonly why: string };

/**
 * Decodes the body for display: JSON when the content type says so and it parses, the
 * claim-check reference when the payload is stored elsewhere (`dataref`), text when it is valid
 * UTF-8, otherwise why not (a dead letter's body is often the very thing that was malformed).
 */
export function decodeDeadLetterData(deadLetter: DeadLetter): DecodedDeadLetterData {
  const { attributes, body } = deadLetter;
  if (attributes.dataref) return { kind: 'claim-check', reference: attributes.dataref };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return { kind: 'unreadable', why: `${body.byteLength} bytes that are not UTF-8 text` };
  }
  const type = attributes.datacontenttype ?? 'application/json';
  if (/^application\/([\w.+-]+\+)?json\b/.test(type)) {
    try {
      return { kind: 'json', data: JSON.parse(text) };
    } catch (error) {
      return {
        kind: 'unreadable',
        why: `not valid ${type} (${(error as Error).message}): ${text.slice(0, 200)}`,
      };
    }
  }
  return { kind: 'text', text };
}
