// Prints what a service's bus does, one line per step of an order, as it happens: the process
// set shows these lines from every process, prefixed with the process's name.
import type { BusEvent, BusObserver } from '@eda/core';

function orderOf(message: { subject?: string; partitionkey?: string; data?: unknown }): string {
  const data = message.data as { orderId?: unknown } | undefined;
  const id = message.subject ?? message.partitionkey ?? data?.orderId;
  return typeof id === 'string' ? id : '(no order)';
}

function describe(event: BusEvent): string | undefined {
  switch (event.kind) {
    case 'published':
      return `${orderOf(event.message)}  ${event.message.kind === 'command' ? 'sent' : 'published'} ${event.message.type}${event.via === 'outbox' ? ' (into the outbox)' : ''}`;
    case 'consumed':
      return `${orderOf(event.message)}  ${event.outcome === 'handled' ? 'handled' : `skipped (${event.outcome})`} ${event.message.type}`;
    case 'retry':
      return `${event.message ? orderOf(event.message) : '(undecodable)'}  retry ${event.message?.type ?? ''} in ${event.delayMs} ms: ${event.reason}`;
    case 'dead-lettered':
      return `${event.message ? orderOf(event.message) : '(undecodable)'}  dead-lettered ${event.message?.type ?? ''}: ${event.reason.code} ${event.reason.message}`;
    case 'lease-lost':
      return `${orderOf(event.message)}  dedupe lease lost on ${event.message.type}`;
  }
}

/** The steps of an order that went as planned: a quiet printer leaves them out. */
const isRoutine = (event: BusEvent) =>
  event.kind === 'published' || (event.kind === 'consumed' && event.outcome === 'handled');

/**
 * An observer that writes one line per bus event to `write`; when `quiet`, only the exceptions
 * (skipped duplicates, retries, dead letters, lost leases), so a run of thousands of orders
 * does not spend its CPU on lines.
 */
export function progressPrinter(write: (line: string) => void, quiet = false): BusObserver {
  return (event) => {
    if (quiet && isRoutine(event)) return;
    const line = describe(event);
    if (line) write(line);
  };
}
