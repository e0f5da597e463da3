// docs/errors.md promises a row for every EDA_* error code: each quoted code in a published
// package's source must have its row, and each row must name a code some source still uses.
// (packages/test-services is left out: its EDA_* names are environment variables.)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The codes quoted in source ('EDA_DECODE'), per package. */
function codesInSource(): Set<string> {
  const codes = new Set<string>();
  for (const pkg of readdirSync(join(root, 'packages'))) {
    if (pkg === 'test-services') continue;
    for (const file of sourceFiles(join(root, 'packages', pkg, 'src'))) {
      for (const match of readFileSync(file, 'utf8').matchAll(/'(EDA_[A-Z0-9_]+)'/g)) {
        codes.add(match[1]!);
      }
    }
  }
  return codes;
}

/** The codes that open a row of a table in the markdown (| `EDA_DECODE` | ...). */
function codesInTable(markdown: string): Set<string> {
  return new Set([...markdown.matchAll(/^\| `(EDA_[A-Z0-9_]+)` +\|/gm)].map((m) => m[1]!));
}

describe('docs/errors.md', () => {
  const documented = codesInTable(readFileSync(join(root, 'docs/errors.md'), 'utf8'));
  const used = codesInSource();

  it('has a row for every EDA_* code the packages use, and none for a code no longer used', () => {
    expect(used.size, 'codes found in source').toBeGreaterThanOrEqual(20);
    expect(
      [...used].filter((code) => !documented.has(code)),
      'codes without a row',
    ).toEqual([]);
    expect(
      [...documented].filter((code) => !used.has(code)),
      'rows of unused codes',
    ).toEqual([]);
  });
});
