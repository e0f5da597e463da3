// The CLI's config module: loaded with its workflows and dead-letter admin, refused with a reason
// that says what to export; and the admin that routes each subscription to its transport's admin.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInMemoryBroker, createInMemoryDeadLetterAdmin } from '@eda/core';
import { describe, expect, it } from 'vitest';
import { loadMonitorConfig, routeDeadLetterAdmins } from '../src/index.js';

async function configFile(text: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'monitor-config-')), 'monitor.config.mjs');
  await writeFile(file, text);
  return file;
}

describe('monitor config', () => {
  it('loads a default export, or what a default-exported function returns', async () => {
    const plain = await configFile(
      `export default { workflows: [{ name: 'w' }], deadLetters: { admin: { redrive() {} }, subscriptions: ['billing'] } };`,
    );
    expect((await loadMonitorConfig(plain)).deadLetters?.subscriptions).toEqual(['billing']);
    const fn = await configFile(`export default async () => ({ workflows: [] });`);
    expect(await loadMonitorConfig(fn)).toEqual({ workflows: [] });
  });

  it('refuses a module without a default export, without workflows, or with a dead-letter part missing its admin', async () => {
    await expect(loadMonitorConfig(await configFile('export const x = 1;'))).rejects.toThrow(
      /has no default export: export default \{ workflows/,
    );
    await expect(loadMonitorConfig(await configFile('export default {};'))).rejects.toThrow(
      /exports no workflows: give the same defineWorkflow/,
    );
    await expect(
      loadMonitorConfig(
        await configFile(`export default { workflows: [], deadLetters: { subscriptions: [] } };`),
      ),
    ).rejects.toThrow(/deadLetters needs \{ admin, subscriptions \}/);
    await expect(loadMonitorConfig('/nowhere/monitor.config.mjs')).rejects.toThrow(
      /could not be loaded/,
    );
  });
});

describe('routeDeadLetterAdmins', () => {
  it("sends each subscription's calls to its admin, refuses an unknown one, and closes each admin once", async () => {
    const broker = createInMemoryBroker();
    const memory = createInMemoryDeadLetterAdmin(broker);
    let closed = 0;
    const counted = {
      ...memory,
      close: async () => {
        closed += 1;
      },
    };
    const admin = routeDeadLetterAdmins({ billing: counted, inventory: counted });
    expect(await admin.list('billing')).toEqual([]);
    await expect(admin.list('shipping')).rejects.toThrow(
      'No dead-letter admin for subscription "shipping": the routes name billing, inventory.',
    );
    await expect(admin.list('constructor')).rejects.toThrow(/No dead-letter admin/);
    await admin.close();
    expect(closed).toBe(1);
  });
});
