// A flow as a Mermaid sequence diagram: services are lifelines, each consumed message an arrow
// from the service that put it on the wire to the service that consumed it. Retries, skipped
// duplicates and dead letters are marked; a message no consumer was seen for is a note on its
// sender, which is where a stuck flow shows where it stopped.
import type { AuditRecord } from './audit-record.js';
import { compareRecords } from './flow-summary.js';

/** Who put a message on the wire: a publish, a send or a relay of the outbox. */
const SENDING: ReadonlySet<string> = new Set(['published', 'sent', 'relayed']);

/** Mermaid ends a message at a line break or `;` and reads `#` as an entity: keep them out. */
function text(value: string): string {
  return value.replaceAll(/[\s;#]+/g, ' ').trim();
}

/**
 * Renders a flow's records as the text of a Mermaid `sequenceDiagram`, in the order the
 * records happened. Paste it into any Markdown that renders Mermaid, or give it to the Mermaid
 * library to draw.
 */
export function sequenceDiagram(timeline: readonly AuditRecord[]): string {
  const records = [...timeline].sort(compareRecords);
  const participants = new Map<string, string>();
  const lifeline = (service: string) => {
    let id = participants.get(service);
    if (!id) {
      id = `s${participants.size + 1}`;
      participants.set(service, id);
    }
    return id;
  };
  const senders = new Map<string, string>();
  for (const record of records)
    if (SENDING.has(record.action) && !senders.has(record.messageId))
      senders.set(record.messageId, record.service);
  const consumed = new Set(
    records.filter((r) => !SENDING.has(r.action)).map((record) => record.messageId),
  );

  const lines: string[] = [];
  for (const record of records) {
    const type = text(record.type);
    const by = lifeline(record.service);
    const from = lifeline(senders.get(record.messageId) ?? record.service);
    const reason = record.reason === undefined ? '' : `: ${text(record.reason)}`;
    switch (record.action) {
      case 'published':
      case 'sent':
      case 'relayed':
        if (!consumed.has(record.messageId))
          lines.push(`  Note over ${by}: ${record.action} ${type}, no consumer seen`);
        break;
      case 'handled':
        lines.push(`  ${from}->>${by}: ${type}`);
        break;
      case 'duplicate-skipped':
      case 'stale-skipped':
      case 'ignored':
        lines.push(`  ${from}--)${by}: ${type} (${record.action})`);
        break;
      case 'retried':
        lines.push(`  ${from}--)${by}: ${type} (attempt ${record.attempt ?? '?'} failed)`);
        lines.push(`  Note over ${by}: retry${reason}`);
        break;
      case 'dead-lettered':
        lines.push(`  ${from}-x${by}: ${type} (dead-lettered)`);
        lines.push(`  Note over ${by}: dead letter${reason}`);
        break;
      case 'lease-lost':
        lines.push(`  Note over ${by}: ${type}: lease lost, the effect may have run twice`);
        break;
      case 'redriven':
      case 'discarded':
        lines.push(
          `  Note over ${by}: ${record.action} the dead letter ${type} of ${text(record.subscription ?? '?')}`,
        );
        break;
    }
  }
  const header = [...participants].map(
    ([service, id]) => `  participant ${id} as ${text(service)}`,
  );
  return ['sequenceDiagram', ...header, ...lines].join('\n');
}
