// Shared by every package's benchmark: medians, the BENCH.md result format, the printed table.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One measurement in the format of shared/notes/BENCH.md. */
export interface BenchResult {
  readonly name: string;
  readonly unit: string;
  readonly ours: number;
  readonly baseline: number | null;
  readonly baselineName: string | null;
  /** >= 1 always means "we are at least as good". */
  readonly ratio: number | null;
  readonly params: Record<string, unknown>;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Summary of repeated samples: median plus min and max for the params. */
export function summarize(samples: readonly number[]): {
  median: number;
  min: number;
  max: number;
} {
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples) };
}

/**
 * Writes bench/results/<shortName>.json at the repository root and prints a table. A package
 * may have several benchmarks: entries of the file with other names are kept, those with the
 * same names replaced.
 */
export function writeResults(shortName: string, results: readonly BenchResult[]): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const file = join(root, 'bench', 'results', `${shortName}.json`);
  mkdirSync(dirname(file), { recursive: true });
  const names = new Set(results.map((r) => r.name));
  const kept = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as BenchResult[]).filter((r) => !names.has(r.name))
    : [];
  writeFileSync(file, `${JSON.stringify([...kept, ...results], null, 2)}\n`);
  const fmt = (n: number | null) => (n === null ? '-' : n >= 100 ? n.toFixed(0) : n.toFixed(2));
  console.log(`\n| measurement | unit | ours | baseline | ratio |\n|---|---|---|---|---|`);
  for (const r of results)
    console.log(
      `| ${r.name} | ${r.unit} | ${fmt(r.ours)} | ${r.baselineName ? `${fmt(r.baseline)} (${r.baselineName})` : '-'} | ${fmt(r.ratio)} |`,
    );
  console.log(`\nwritten to ${file}`);
}
