// The monitor's page in a real browser: Debian's headless Chromium, driven by puppeteer-core (no
// browser download). The stuck list, one flow's diagram drawn by Mermaid as SVG under the page's
// content security policy, and a click on a dead letter's Redrive button that sends it back and
// lets its flow complete. Screenshots go to EDA_MONITOR_SCREENSHOTS (the docs' images), else
// to a temporary folder.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createBus,
  createInMemoryDeadLetterAdmin,
  createInMemoryTransport,
  defineEvent,
  on,
} from '@eda/core';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAuditReporter,
  createDeadLetterDesk,
  createInMemoryMonitorStore,
  createMonitorServer,
  createWorkflowMonitor,
  defineWorkflow,
} from '../src/index.js';
import { until } from './until.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) =>
  existsSync(path),
);
// CI installs Chromium (scripts/services/ci-prereqs.sh): there a missing browser is a failure.
if (!CHROMIUM && process.env.CI === 'true')
  throw new Error('Chromium is not installed: scripts/services/ci-prereqs.sh installs it (apt).');

const OrderPlaced = defineEvent<{ orderId: string }>({ type: 'order.placed', owner: 'orders' });
const OrderShipped = defineEvent<{ orderId: string }>({ type: 'order.shipped', owner: 'shipping' });
const OrderBilled = defineEvent<{ orderId: string }>({ type: 'order.billed', owner: 'billing' });
const order = defineWorkflow({
  name: 'order',
  startsWith: 'order.placed',
  endsWith: { all: ['order.shipped', 'order.billed'] },
  steps: [{ type: 'order.placed', service: 'shipping', deadlineMs: 300 }],
  deadlineMs: 60_000,
});

describe.skipIf(!CHROMIUM)(
  `monitor page in headless Chromium${CHROMIUM ? '' : ' (skipped: no Chromium at /usr/bin/chromium; apt install chromium)'}`,
  () => {
    let browser: Browser;
    let base: string;
    let shots: string;
    const stop: (() => unknown)[] = [];
    const state = { billingBroken: true };
    // Shipping takes order-2 and does not finish it (a hung call): that flow gets stuck.
    let releaseShipping!: () => void;
    const shippingHangs = new Promise<void>((resolve) => {
      releaseShipping = resolve;
    });
    let monitor: ReturnType<typeof createWorkflowMonitor>;
    // Records the monitor took: the waits fail on a stall of these, not on a total time.
    let ingested = 0;

    beforeAll(async () => {
      shots =
        process.env.EDA_MONITOR_SCREENSHOTS ?? (await mkdtemp(join(tmpdir(), 'monitor-page-')));
      await mkdir(shots, { recursive: true });
      const store = createInMemoryMonitorStore();
      monitor = createWorkflowMonitor({ store, workflows: [order] });
      const transport = createInMemoryTransport();
      stop.push(() => transport.close());
      stop.push(() => releaseShipping());
      const reporterOf = (service: string) =>
        createAuditReporter({
          service,
          sink: async (records) => {
            ingested += records.length;
            await monitor.ingest(records);
          },
          flushDelayMs: 1,
        });
      const busOf = (service: string) =>
        createBus({
          service,
          transport,
          retry: { maxDeliveries: 1 },
          observers: [reporterOf(service).observe],
        });
      const shipping = busOf('shipping');
      const billing = busOf('billing');
      await shipping.subscribe({
        handlers: [
          on(OrderPlaced, async (m) => {
            if (m.data.orderId === 'order-2') await shippingHangs;
            await shipping.publish(OrderShipped, { orderId: m.data.orderId });
          }),
        ],
      });
      await billing.subscribe({
        handlers: [
          on(OrderPlaced, async (m) => {
            if (state.billingBroken && m.data.orderId === 'order-3')
              throw new Error('no tax rate for <country> "XX"');
            await billing.publish(OrderBilled, { orderId: m.data.orderId });
          }),
        ],
      });
      const orders = busOf('orders');
      for (const id of ['order-1', 'order-2', 'order-3'])
        await orders.publish(OrderPlaced, { orderId: id }, { id, correlationId: id });
      await until(
        async () => (await monitor.flows()).length === 3,
        'three flows',
        () => ingested,
      );
      await new Promise((resolve) => setTimeout(resolve, 400));
      await monitor.evaluate();
      const desk = createDeadLetterDesk({
        admin: createInMemoryDeadLetterAdmin(transport.broker),
        monitor,
      });
      const server = createMonitorServer({
        store,
        deadLetters: { desk, subscriptions: ['billing', 'shipping'] },
      });
      stop.push(() => server.close());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      browser = await puppeteer.launch({
        executablePath: CHROMIUM!,
        headless: true,
        // Root in a container has no user namespaces for Chromium's sandbox.
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
      });
      stop.push(() => browser.close());
    }, 60_000);

    afterAll(async () => {
      for (const close of stop.splice(0).reverse()) await close();
    });

    const shot = async (page: import('puppeteer-core').Page, name: string) => {
      const file = join(shots, name);
      await page.screenshot({ path: file as `${string}.png`, fullPage: true });
      expect((await stat(file)).size, `${name} written`).toBeGreaterThan(5_000);
    };

    it('lists the stuck flow with what it waits for', async () => {
      const page = await browser.newPage();
      await page.setViewport({ width: 1100, height: 600 });
      await page.goto(`${base}/?state=stuck`);
      const rows = await page.$$eval('tr.flow', (trs) => trs.map((tr) => tr.textContent ?? ''));
      expect(rows).toHaveLength(1);
      expect(rows[0]).toContain('order-2');
      expect(rows[0]).toContain('order.placed by shipping');
      await page.goto(`${base}/`);
      await shot(page, 'monitor-flows.png');
      await page.close();
    });

    it('draws a flow as an SVG sequence diagram', async () => {
      const page = await browser.newPage();
      await page.setViewport({ width: 1100, height: 900 });
      const errors: string[] = [];
      page.on('pageerror', (error) => void errors.push(String(error)));
      page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
      await page.goto(`${base}/flows/order-3`);
      await page.waitForSelector('pre.mermaid svg', { timeout: 15_000 });
      const labels = await page.$$eval('pre.mermaid svg text', (texts) =>
        texts.map((t) => t.textContent ?? ''),
      );
      expect(labels).toEqual(expect.arrayContaining(['orders', 'shipping', 'billing']));
      expect(labels.join(' ')).toContain('order.placed (dead-lettered)');
      expect(errors, 'no script error and no content-security-policy refusal').toEqual([]);
      await shot(page, 'monitor-flow.png');
      await page.close();
    });

    it('redrives a dead letter with its button, and the flow completes', async () => {
      const page = await browser.newPage();
      await page.setViewport({ width: 1100, height: 600 });
      await page.goto(`${base}/dead-letters`);
      const row = await page.$('section[data-subscription="billing"] tr.dead-letter');
      expect(await row!.evaluate((tr) => tr.textContent)).toContain(
        'no tax rate for <country> "XX"',
      );
      await shot(page, 'monitor-dead-letters.png');
      state.billingBroken = false; // the fix is deployed
      await Promise.all([
        page.waitForNavigation(),
        row!.$eval('form[action="/dead-letters/redrive"] button', (b) =>
          (b as unknown as { click(): void }).click(),
        ),
      ]);
      expect(await page.$eval('.notice', (p) => p.textContent)).toMatch(
        /^Redrove 1 dead letter\(s\) of billing: /,
      );
      expect(await page.$$('section[data-subscription="billing"] tr.dead-letter')).toHaveLength(0);
      await until(
        async () => (await monitor.flow('order-3'))?.summary.state === 'completed',
        'order-3 to complete after the redrive',
        () => ingested,
      );
      await page.close();
    });
  },
);
