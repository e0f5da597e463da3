// The monitor's web server: the flows by state, one flow's timeline and diagram, and the same
// as JSON, read from the monitor's store. node:http only; Mermaid is served from the `mermaid`
// package when it is installed (an optional peer), else the page shows the diagram's text.
import { readFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { FlowState } from '../flow-summary.js';
import type { MonitorStore } from '../monitor-store.js';
import { sequenceDiagram } from '../sequence-diagram.js';
import { DRAW_SCRIPT, escapeHtml, page } from './html.js';
import { flowPage, flowsPage, PAGE_STATES } from './monitor-pages.js';

/** Options of `createMonitorServer`. */
export interface MonitorServerOptions {
  readonly store: Pick<MonitorStore, 'flows' | 'summary' | 'timeline'>;
  /** Flows a list shows at most. @default 200 */
  readonly limit?: number;
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
  const { store } = options;
  const limit = options.limit ?? 200;
  const bundle = mermaidBundle();

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
      if (url.pathname === '/') {
        send(response, 200, html, flowsPage(await store.flows(query), query.state));
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
          `The monitor store failed: ${String(error)}`,
        );
      else response.end();
    });
  });
}
