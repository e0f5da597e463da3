// Dead letters as text for the command line: one line each in a list, every detail for one.
import { type DeadLetter, decodeDeadLetterData } from '@eda/core';

/** One line per dead letter: handle, when, reason, message. */
export function deadLettersText(deadLetters: readonly DeadLetter[]): string {
  if (!deadLetters.length) return 'no dead letters';
  return deadLetters
    .map(
      (d) =>
        `${d.handle}  ${d.failedAt ?? '?'}  ${d.reason.code} after ${d.reason.attempts} attempt(s)  ${d.attributes.type ?? '?'} ${d.attributes.id ?? '?'} (flow ${d.attributes.correlationid ?? d.attributes.id ?? '?'}): ${d.reason.message}`,
    )
    .join('\n');
}

/** Everything about one dead letter, its data decoded where it can be. */
export function deadLetterText(d: DeadLetter): string {
  const data = decodeDeadLetterData(d);
  const shown =
    data.kind === 'json'
      ? JSON.stringify(data.data, null, 2)
      : data.kind === 'text'
        ? data.text
        : data.kind === 'claim-check'
          ? `(stored by claim check: ${data.reference})`
          : `(cannot be shown: ${data.why})`;
  const headers = Object.entries(d.headers)
    .map(([name, value]) => `  ${name}: ${value}`)
    .join('\n');
  return [
    `dead letter ${d.handle} of ${d.subscription}`,
    `reason:      ${d.reason.code} (${d.reason.errorType || 'no error type'}) after ${d.reason.attempts} attempt(s): ${d.reason.message}`,
    `from:        ${d.destination || '?'}`,
    `failed at:   ${d.failedAt ?? '?'}`,
    `message:     ${d.attributes.type ?? '?'} ${d.attributes.id ?? '?'} from ${d.attributes.source ?? '?'}, flow ${d.attributes.correlationid ?? d.attributes.id ?? '?'}`,
    'headers:',
    headers,
    'data:',
    shown,
  ].join('\n');
}
