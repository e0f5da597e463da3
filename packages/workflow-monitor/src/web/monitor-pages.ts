// The monitor's pages: the flows by state, and one flow with its timeline and sequence diagram.
import type { AuditRecord } from '../audit-record.js';
import { compareRecords, type FlowState, type FlowSummary } from '../flow-summary.js';
import { waitingFor } from '../flow-text.js';
import { sequenceDiagram } from '../sequence-diagram.js';
import { escapeHtml as e, page } from './html.js';

/** The states the page filters by, in the order its links show them. */
export const PAGE_STATES: readonly FlowState[] = [
  'stuck',
  'failed',
  'running',
  'completed',
  'unmatched',
];

const time = (at: number | undefined) => (at === undefined ? '' : new Date(at).toISOString());

/** The flows page: links per state, then one row per flow. */
export function flowsPage(
  flows: readonly FlowSummary[],
  state: FlowState | undefined,
  deadLetters = false,
): string {
  const links = [
    `<a href="/">all</a>`,
    ...PAGE_STATES.map((s) => `<a href="/?state=${s}">${s}</a>`),
    ...(deadLetters ? ['<a href="/dead-letters">dead letters</a>'] : []),
  ].join('');
  const rows = flows
    .map(
      (f) => `<tr class="flow">
<td class="state-${e(f.state)}">${e(f.state)}</td><td>${e(f.workflow ?? '')}</td>
<td><a href="/flows/${encodeURIComponent(f.correlationId)}">${e(f.correlationId)}</a></td>
<td>${e(time(f.startedAt))}</td><td>${f.records}</td><td>${e(waitingFor(f))}</td></tr>`,
    )
    .join('\n');
  const table = flows.length
    ? `<table><thead><tr><th>state</th><th>workflow</th><th>correlation id</th><th>started</th><th>records</th><th>waiting for</th></tr></thead>
<tbody>${rows}</tbody></table>`
    : '<p>No flows.</p>';
  return page(
    'Workflows',
    `<h1>Workflows${state ? `: ${e(state)}` : ''}</h1>\n<nav>${links}</nav>\n${table}`,
  );
}

/** One flow: its state, its sequence diagram, and its timeline with reasons. */
export function flowPage(
  summary: FlowSummary,
  timeline: readonly AuditRecord[],
  drawn: boolean,
): string {
  const records = [...timeline].sort(compareRecords);
  const start = records[0]?.at ?? 0;
  const rows = records
    .map(
      (r) => `<tr class="record"><td>+${r.at - start} ms</td><td>${e(r.service)}</td>
<td>${e(r.action)}</td><td>${e(r.type)}</td><td>${e(r.subscription ?? '')}</td>
<td>${r.attempt ?? ''}</td><td>${e(r.reason ?? '')}</td></tr>`,
    )
    .join('\n');
  const waiting = waitingFor(summary);
  const diagram = sequenceDiagram(records);
  // Escaped inside the element: Mermaid reads its text content, the browser never parses it as markup.
  const picture = drawn
    ? `<pre class="mermaid">${e(diagram)}</pre>`
    : `<p>Install the <code>mermaid</code> package beside the monitor to draw this; its text:</p><pre>${e(diagram)}</pre>`;
  return page(
    `Flow ${summary.correlationId}`,
    `<p><a href="/">all flows</a></p>
<h1>${e(summary.correlationId)}</h1>
<p>${e(summary.workflow ?? 'no declared workflow')}: <span class="state-${e(summary.state)}">${e(summary.state)}</span>${
      waiting ? `, waiting for ${e(waiting)}` : ''
    }</p>
${picture}
<h2>Timeline</h2>
<table><thead><tr><th>at</th><th>service</th><th>action</th><th>type</th><th>subscription</th><th>attempt</th><th>reason</th></tr></thead>
<tbody>${rows}</tbody></table>
<h2>Mermaid text</h2>
<pre class="mermaid-text">${e(diagram)}</pre>`,
    { mermaid: drawn },
  );
}
