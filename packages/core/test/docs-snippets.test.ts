// docs/testing.md shows code that testing-guide.test.ts runs: each TypeScript block of the guide
// must appear in that file verbatim (after the indentation of its nesting), so the guide cannot
// show code that no test runs.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

/** The ```ts blocks of a markdown text, in order. */
function typescriptBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
}

/** Whether `block` is in `source`, line by line, indented by any one amount. */
function containsBlock(source: string, block: string): boolean {
  const lines = block.replace(/\n$/, '').split('\n');
  const sourceLines = source.split('\n');
  return sourceLines.some((_, start) => {
    const indent = /^ */.exec(sourceLines[start]!)![0].length - /^ */.exec(lines[0]!)![0].length;
    if (indent < 0) return false;
    const pad = ' '.repeat(indent);
    return lines.every((line, i) => sourceLines[start + i] === (line === '' ? '' : pad + line));
  });
}

describe('docs/testing.md', () => {
  const guide = read('../../../docs/testing.md');
  const code = read('./testing-guide.test.ts');
  const blocks = typescriptBlocks(guide);

  it('has code blocks, each run by testing-guide.test.ts', () => {
    expect(blocks.length, 'TypeScript blocks in the guide').toBe(4);
    for (const block of blocks) {
      expect(containsBlock(code, block), `block not in the test file:\n${block}`).toBe(true);
    }
  });

  it('notices a block that differs from the test file', () => {
    const altered = blocks[2]!.replace('total: 4990 }', 'total: 4991 }');
    expect(altered).not.toBe(blocks[2]);
    expect(containsBlock(code, altered)).toBe(false);
  });
});

describe('docs/event-sourcing.md', () => {
  const page = read('../../../docs/event-sourcing.md');
  const code = read('./event-sourcing-guide.test.ts');

  it('has code blocks, each run by event-sourcing-guide.test.ts', () => {
    const blocks = typescriptBlocks(page);
    expect(blocks.length, 'TypeScript blocks in the page').toBe(4);
    for (const block of blocks) {
      expect(containsBlock(code, block), `block not in the test file:\n${block}`).toBe(true);
    }
  });
});
