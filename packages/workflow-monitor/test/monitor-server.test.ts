// The monitor's web server on a real loopback port: the flows page filtered by state, one
// flow with its diagram and timeline, the JSON API, and what comes from other services escaped.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createInMemoryMonitorStore,
  createMonitorServer,
  createWorkflowMonitor,
} from '../src/index.js';
import { order, rec } from './records.js';

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function serve() {
  const store = createInMemoryMonitorStore();
  const monitor = createWorkflowMonitor({ store, workflows: [order] });
  await monitor.ingest([
    rec('late-1', 'order.placed', 1_000, { messageId: 'm-late' }),
    rec('bad-1', 'order.placed', 1_000, { messageId: 'm-bad' }),
    rec('bad-1', 'order.placed', 1_010, {
      messageId: 'm-bad',
      action: 'dead-lettered',
      service: 'shipping',
      subscription: 'shipping',
      reason: 'EDA_DECODE: <script>alert(1)</script>',
    }),
  ]);
  await monitor.evaluate(2_500);
  const server = createMonitorServer({ store });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      body: await response.text(),
      csp: response.headers.get('content-security-policy'),
    };
  };
}

describe('monitor web server', () => {
  it('lists flows by state, with what a stuck one waits for', async () => {
    const get = await serve();
    const all = await get('/');
    expect(all.status).toBe(200);
    expect(all.csp).toContain("default-src 'self'");
    expect(all.body).toContain('<a href="/flows/late-1">late-1</a>');
    expect(all.body).toContain('<a href="/flows/bad-1">bad-1</a>');
    const stuck = await get('/?state=stuck');
    expect(stuck.body).toContain('late-1');
    expect(stuck.body).toContain('order.placed by shipping');
    expect(stuck.body).not.toContain('bad-1');
    expect((await get('/?state=failed')).body).toContain('bad-1');
    expect((await get('/?state=sleeping')).status).toBe(400);
  });

  it('shows one flow: the diagram for Mermaid to draw, the timeline, the reason escaped', async () => {
    const get = await serve();
    const flow = await get('/flows/bad-1');
    expect(flow.status).toBe(200);
    expect(flow.body).toContain('<pre class="mermaid">sequenceDiagram');
    expect(flow.body).toContain('s1-xs2: order.placed (dead-lettered)');
    expect(flow.body).toContain('<script src="/assets/mermaid.min.js"></script>');
    expect(flow.body).not.toContain('<script>alert(1)</script>');
    expect(flow.body).toContain('EDA_DECODE: &lt;script&gt;alert(1)&lt;/script&gt;');
    const mermaid = await get('/assets/mermaid.min.js');
    expect(mermaid.status).toBe(200);
    expect(mermaid.type).toContain('text/javascript');
    expect(mermaid.body.length).toBeGreaterThan(100_000);
    expect((await get('/assets/draw.js')).body).toContain('mermaid.initialize');
    expect((await get('/flows/nope')).status).toBe(404);
  });

  it('serves the same as JSON', async () => {
    const get = await serve();
    const flows = JSON.parse((await get('/api/flows?state=stuck')).body) as {
      correlationId: string;
    }[];
    expect(flows.map((f) => f.correlationId)).toEqual(['late-1']);
    const flow = JSON.parse((await get('/api/flows/bad-1')).body);
    expect(flow.summary.state).toBe('failed');
    expect(flow.timeline).toHaveLength(2);
    expect(flow.mermaid.split('\n')[0]).toBe('sequenceDiagram');
    expect(await get('/api/flows/nope')).toMatchObject({
      status: 404,
      body: '{"error":"No flow nope."}',
    });
  });
});
