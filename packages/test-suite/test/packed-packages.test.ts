// Packs every published package as the release does (`pnpm pack`, which applies publishConfig
// and replaces workspace: ranges) and checks what a user would install.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildAndPack,
  type PackResult,
  publishedPackages,
  workspaceRoot,
} from './pack-workspace.js';
import {
  fileProblems,
  type Manifest,
  manifestProblems,
  type PackedPackage,
  type ReleaseMetadata,
} from './packed-package.js';

const root = workspaceRoot;
const rootManifest: Manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const repositoryUrl = String((rootManifest.repository as { url: string }).url);
const licenseText = readFileSync(join(root, 'LICENSE'), 'utf8');

const published = publishedPackages();

const expectedFor = (directory: string): ReleaseMetadata => ({
  repositoryUrl,
  directory,
  license: 'MIT',
});

let scratch: string;
let packed = new Map<string, PackResult>();

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'eda-packed-'));
  packed = buildAndPack(published, scratch);
}, 600_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

it('finds the published packages', () => {
  expect(published.map((pkg) => pkg.name)).toEqual(
    expect.arrayContaining(['@eda/core', '@eda/kafka', '@eda/rabbitmq', '@eda/test-suite']),
  );
});

describe.each(published)('$name, as packed', ({ name, directory }) => {
  it('has no workspace: range, no development condition, and its repository and license', () => {
    expect(manifestProblems(packed.get(name)!.manifest, expectedFor(directory))).toEqual([]);
  });

  it('ships its LICENSE, every export target, and the sources of every source map', () => {
    const pkg = packed.get(name)!;
    expect(fileProblems(pkg, licenseText)).toEqual([]);
    // The map check must have had maps to check: tsc emits one per .js and per .d.ts.
    expect([...pkg.files].filter((file) => file.endsWith('.map')).length).toBeGreaterThan(0);
  });
});

// Each check, shown failing on a broken copy of a package that passes them all.
describe('the checks catch a broken package', () => {
  const expected = expectedFor('packages/example');
  const good = (): Manifest => ({
    name: '@eda/example',
    license: 'MIT',
    homepage: `${repositoryUrl}#readme`,
    bugs: { url: `${repositoryUrl}/issues` },
    repository: { type: 'git', url: repositoryUrl, directory: 'packages/example' },
    exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
    peerDependencies: { '@eda/core': '^0.1.0' },
  });

  it('passes the good one', () => {
    expect(manifestProblems(good(), expected)).toEqual([]);
  });

  it('a workspace: range left in', () => {
    const manifest = { ...good(), peerDependencies: { '@eda/core': 'workspace:^' } };
    expect(manifestProblems(manifest, expected)).toEqual([
      'peerDependencies.@eda/core is "workspace:^": npm cannot resolve workspace: ranges; publish with pnpm, which replaces them',
    ]);
  });

  it('a development condition left in', () => {
    const manifest = {
      ...good(),
      exports: { '.': { development: './src/index.ts', default: './dist/index.js' } },
    };
    expect(manifestProblems(manifest, expected)).toEqual([
      'exports["."].development points at "./src/index.ts": publishConfig.exports must leave it out',
    ]);
  });

  it('no repository, license, homepage or bugs', () => {
    const manifest = good();
    for (const field of ['repository', 'license', 'homepage', 'bugs']) delete manifest[field];
    expect(manifestProblems(manifest, expected)).toEqual([
      `repository is undefined: set { "type": "git", "url": "${repositoryUrl}" } (npm refuses provenance without it)`,
      'repository.directory is undefined: set it to "packages/example"',
      'license is undefined: set it to "MIT"',
      'homepage is missing: link the package README in the repository',
      'bugs.url is missing: link the repository issues',
    ]);
  });

  it('a source map whose source is not in the tarball, and a missing LICENSE', () => {
    const dir = mkdtempSync(join(scratch, 'broken-'));
    const write = (file: string, text: string) => {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), text);
    };
    write('dist/index.js', 'export {};\n//# sourceMappingURL=index.js.map');
    write('dist/index.js.map', JSON.stringify({ version: 3, sources: ['../src/index.ts'] }));
    write('dist/other.js', 'export {};\n//# sourceMappingURL=other.js.map');
    const pkg: PackedPackage = {
      dir,
      files: new Set(['dist/index.js', 'dist/index.js.map', 'dist/other.js']),
      manifest: { exports: { '.': './dist/index.js' } },
    };
    expect(fileProblems(pkg, licenseText)).toEqual([
      'LICENSE is missing or differs from the repository LICENSE: copy it in',
      'dist/other.js points at dist/other.js.map, which is not in the tarball',
      'dist/index.js.map names ../src/index.ts (src/index.ts), which is not in the tarball: add its folder to "files" or stop emitting maps',
    ]);
  });
});
