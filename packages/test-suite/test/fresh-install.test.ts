import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initProject, runSnippet } from './fresh-install.js';

const dir = mkdtempSync(join(tmpdir(), 'eda-snippet-run-'));
initProject(dir, 'snippet-run');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runSnippet', () => {
  it('runs a TypeScript file and returns what it printed', async () => {
    writeFileSync(join(dir, 'ok.ts'), "const said: string = 'done';\nconsole.log(said);\n");
    expect((await runSnippet(dir, 'ok.ts', {}, 10_000)).stdout).toBe('done\n');
  });

  it('fails a snippet that never exits, as one that leaves a transport open', async () => {
    writeFileSync(join(dir, 'open.ts'), "setInterval(() => {}, 1000);\nconsole.log('started');\n");
    await expect(runSnippet(dir, 'open.ts', {}, 1500)).rejects.toThrow(
      /open\.ts had not exited after 1500 ms \(is something left open\?\)\n--- stdout\nstarted/,
    );
  });

  it('fails a snippet that throws, with its stderr', async () => {
    writeFileSync(join(dir, 'throws.ts'), "throw new Error('no broker');\n");
    await expect(runSnippet(dir, 'throws.ts', {}, 10_000)).rejects.toThrow(
      /throws\.ts failed[\s\S]*no broker/,
    );
  });
});
