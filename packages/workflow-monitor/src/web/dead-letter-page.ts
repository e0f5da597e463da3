// The dead-letter page: each watched subscription's dead letters with their reason, a link to
// the message's flow, and the operator's buttons (redrive, discard, redrive all). The buttons
// are plain forms posting to the monitor itself.
import type { DeadLetter } from '@eda/core';
import { escapeHtml as e, page } from './html.js';

/** One button: a form posting `fields` to `action`. */
function button(action: string, label: string, fields: Readonly<Record<string, string>>): string {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${e(name)}" value="${e(value)}">`)
    .join('');
  return `<form method="post" action="${e(action)}" class="inline">${inputs}<button type="submit">${e(label)}</button></form>`;
}

function rows(subscription: string, deadLetters: readonly DeadLetter[]): string {
  return deadLetters
    .map((d) => {
      const flow = d.attributes.correlationid ?? d.attributes.id;
      const flowLink = flow ? `<a href="/flows/${encodeURIComponent(flow)}">${e(flow)}</a>` : '';
      const target = { subscription, handle: d.handle };
      return `<tr class="dead-letter" data-handle="${e(d.handle)}">
<td>${e(d.failedAt ?? '')}</td><td class="state-failed">${e(d.reason.code)}</td><td>${d.reason.attempts}</td>
<td>${e(d.attributes.type ?? '')}</td><td>${flowLink}</td><td>${e(d.reason.message)}</td>
<td>${button('/dead-letters/redrive', 'Redrive', target)} ${button('/dead-letters/discard', 'Discard', target)}</td></tr>`;
    })
    .join('\n');
}

/** The page: a section per subscription, and the outcome of the last action when there is one. */
export function deadLettersPage(
  bySubscription: ReadonlyMap<string, readonly DeadLetter[]>,
  notice: string | undefined,
): string {
  const sections = [...bySubscription]
    .map(([subscription, deadLetters]) => {
      const table = deadLetters.length
        ? `<table><thead><tr><th>failed at</th><th>reason</th><th>attempts</th><th>type</th><th>flow</th><th>message</th><th></th></tr></thead>
<tbody>${rows(subscription, deadLetters)}</tbody></table>
<p>${button('/dead-letters/redrive', `Redrive all ${deadLetters.length}`, { subscription, all: 'true' })}</p>`
        : '<p>No dead letters.</p>';
      return `<section class="subscription" data-subscription="${e(subscription)}"><h2>${e(subscription)}</h2>\n${table}</section>`;
    })
    .join('\n');
  return page(
    'Dead letters',
    `<p><a href="/">all flows</a></p>
<h1>Dead letters</h1>
${notice ? `<p class="notice">${e(notice)}</p>` : ''}
${sections || '<p>No subscriptions are watched: start the monitor with their names.</p>'}`,
  );
}
