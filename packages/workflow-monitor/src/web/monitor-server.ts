// The monitor's web server: the flows by state, one flow's timeline and diagram, and the same
// as JSON, read from the monitor's store. node:http only; Mermaid is served from the `mermaid`
// package when it is installed (an optional peer), else the page shows the diagram's text.
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { decodeDeadLetterData } from '@eda/core';
import type { DeadLetterDesk } from '../dead-letter-desk.js';
import type { FlowState } from '../flow-summary.js';
import type { MonitorStore } from '../monitor-store.js';
import { sequenceDiagram } from '../sequence-diagram.js';
import { deadLettersPage } from './dead-letter-page.js';
import { DRAW_SCRIPT, escapeHtml, page } from './html.js';
import { flowPage, flowsPage, PAGE_STATES } from './monitor-pages.js';

/** Options of `createMonitorServer`. */
export interface MonitorServerOptions {
  readonly store: Pick<MonitorStore, 'flows' | 'summary' | 'timeline'>;
  /** Flows a list shows at most. @default 200 */
  readonly limit?: number;
  /**
   * The dead-letter page (`/dead-letters`) and its buttons: the desk acts on the transport, and
   * only the subscriptions named here can be listed or acted on from the page.
   */
  readonly deadLetters?: {
    readonly desk: DeadLetterDesk;
    readonly subscriptions: readonly string[];
  };
}

/** A form post's fields (small bodies only: the page's forms send a few short fields). */
async function formFields(request: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).byteLength;
    if (size > 16_384) throw new Error('The form is larger than 16 KiB.');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Whether a post comes from the monitor's own page: browsers name the origin of a cross-site
 * form post (Origin, Sec-Fetch-Site), and such a post must not redrive or discard anything.
 */
function sameOrigin(request: IncomingMessage): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return false;
  const origin = request.headers.origin;
  return origin === undefined || origin === `http://${request.headers.host}`;
}

/** Mermaid's browser bundle, or undefined when the package is not installed. */
async function mermaidBundle(): Promise<Buffer | undefined> {
  try {
    return await readFile(fileURLToPath(import.meta.resolve('mermaid/dist/mermaid.min.js')));
  } catch {
    return undefined;
  }
}

function send(response: ServerResponse, status: number, type: string, body: string | Buffer) {
  response.writeHead(status, {
    'content-type': type,
    // The pages show data from other services: no script but our own and Mermaid's.
    'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'",
    'x-content-type-options': 'nosniff',
  });
  response.end(body);
}

const html = 'text/html; charset=utf-8';
const json = 'application/json; charset=utf-8';

/**
 * Creates the monitor's web server (not listening yet: call `listen`). Pages: `/` (flows,
 * `?state=` and `?workflow=` filter), `/flows/<correlation id>`; JSON: `/api/flows`,
 * `/api/flows/<correlation id>` (summary, timeline and Mermaid text).
 */
export function createMonitorServer(options: MonitorServerOptions): Server {
  const { store, deadLetters } = options;
  const limit = options.limit ?? 200;
  const bundle = mermaidBundle();

  const listDeadLetters = async () => {
    const bySubscription = new Map<string, Awaited<ReturnType<DeadLetterDesk['list']>>>();
    for (const subscription of deadLetters?.subscriptions ?? [])
      bySubscription.set(subscription, await deadLetters!.desk.list(subscription, { limit }));
    return bySubscription;
  };

  /** Carries out a button's post; returns what to tell the operator. */
  const act = async (action: string, fields: URLSearchParams): Promise<string> => {
    const subscription = fields.get('subscription') ?? '';
    if (!deadLetters?.subscriptions.includes(subscription))
      return `The monitor does not watch subscription "${subscription}": nothing was done.`;
    const handle = fields.get('handle') ?? '';
    if (action === 'discard') {
      const done = await deadLetters.desk.discard(subscription, handle);
      return done
        ? `Discarded ${handle} of ${subscription}.`
        : `No dead letter ${handle} of ${subscription}: nothing was done.`;
    }
    const selection = fields.get('all') === 'true' ? { all: true as const } : { handles: [handle] };
    const redriven = await deadLetters.desk.redrive(subscription, selection);
    return `Redrove ${redriven.length} dead letter(s) of ${subscription}${redriven.length ? `: ${redriven.map((d) => d.handle).join(', ')}` : ''}.`;
  };

  return createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://monitor');
      const state = url.searchParams.get('state') ?? undefined;
      if (state !== undefined && !(PAGE_STATES as readonly string[]).includes(state)) {
        const message = `state ${state} is not one of ${PAGE_STATES.join(', ')}`;
        send(response, 400, html, page('Bad request', `<p>${escapeHtml(message)}</p>`));
        return;
      }
      const workflow = url.searchParams.get('workflow') ?? undefined;
      const query = {
        ...(state ? { state: state as FlowState } : {}),
        ...(workflow ? { workflow } : {}),
        limit,
      };
      const flowId = /^\/(api\/)?flows\/(.+)$/.exec(url.pathname);
      const deadLetterAction = /^\/dead-letters\/(redrive|discard)$/.exec(url.pathname);
      if (request.method === 'POST') {
        if (!deadLetterAction || !deadLetters) {
          send(response, 404, html, page('Not found', '<p>Not found.</p>'));
        } else if (!sameOrigin(request)) {
          send(
            response,
            403,
            html,
            page('Forbidden', "<p>Only the monitor's own page may act on dead letters.</p>"),
          );
        } else {
          const notice = await act(deadLetterAction[1]!, await formFields(request));
          response.writeHead(303, {
            location: `/dead-letters?notice=${encodeURIComponent(notice)}`,
          });
          response.end();
        }
        return;
      }
      if (url.pathname === '/dead-letters' && deadLetters) {
        const notice = url.searchParams.get('notice') ?? undefined;
        send(response, 200, html, deadLettersPage(await listDeadLetters(), notice));
      } else if (url.pathname === '/api/dead-letters' && deadLetters) {
        const listed = Object.fromEntries(
          [...(await listDeadLetters())].map(([subscription, list]) => [
            subscription,
            // The body as the operator can read it, not its bytes.
            list.map(({ body: _bytes, ...shown }, index) => ({
              ...shown,
              data: decodeDeadLetterData(list[index]!),
            })),
          ]),
        );
        send(response, 200, json, JSON.stringify(listed));
      } else if (url.pathname === '/') {
        send(
          response,
          200,
          html,
          flowsPage(await store.flows(query), query.state, deadLetters !== undefined),
        );
      } else if (url.pathname === '/api/flows') {
        send(response, 200, json, JSON.stringify(await store.flows(query)));
      } else if (flowId) {
        const correlationId = decodeURIComponent(flowId[2]!);
        const summary = await store.summary(correlationId);
        if (!summary) {
          const message = `No flow ${correlationId}.`;
          if (flowId[1]) send(response, 404, json, JSON.stringify({ error: message }));
          else send(response, 404, html, page('Not found', `<p>${escapeHtml(message)}</p>`));
          return;
        }
        const timeline = await store.timeline(correlationId);
        if (flowId[1])
          send(
            response,
            200,
            json,
            JSON.stringify({ summary, timeline, mermaid: sequenceDiagram(timeline) }),
          );
        else send(response, 200, html, flowPage(summary, timeline, (await bundle) !== undefined));
      } else if (url.pathname === '/assets/draw.js') {
        send(response, 200, 'text/javascript; charset=utf-8', DRAW_SCRIPT);
      } else if (url.pathname === '/assets/mermaid.min.js' && (await bundle)) {
        send(response, 200, 'text/javascript; charset=utf-8', (await bundle)!);
      } else {
        send(response, 404, html, page('Not found', '<p>Not found.</p>'));
      }
    })().catch((error: unknown) => {
      // A store that failed: say so, keep serving.
      if (!response.headersSent)
        send(
          response,
          503,
          'text/plain; charset=utf-8',
          `The monitor could not answer (its store or the transport failed): ${String(error)}`,
        );
      else response.end();
    });
  });
}
