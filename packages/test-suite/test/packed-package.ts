// What a user installs from npm, checked: the problems of one packed package (the package.json as
// `pnpm pack` rewrote it, the license, the export targets, the source maps), each as a sentence
// that says what is wrong and what to change.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

export type Manifest = Record<string, unknown>;

/** An unpacked tarball. */
export interface PackedPackage {
  /** The folder that holds the package's files (the tarball's `package/`). */
  readonly dir: string;
  /** Every file, relative to `dir`, with `/` separators. */
  readonly files: ReadonlySet<string>;
  readonly manifest: Manifest;
}

/** What every published package must say about where it comes from. */
export interface ReleaseMetadata {
  readonly repositoryUrl: string;
  /** The package's folder in the repository, e.g. `packages/core`. */
  readonly directory: string;
  readonly license: string;
}

const dependencyFields = [
  'dependencies',
  'devDependencies',
  'peerDependencies',
  'optionalDependencies',
] as const;

/** Unpacks `tarball` into `into` (which must exist) and reads it. */
export function unpack(tarball: string, into: string): PackedPackage {
  execFileSync('tar', ['-xzf', tarball, '-C', into]);
  const dir = join(into, 'package');
  const files = new Set(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => posix.relative(dir, join(entry.parentPath, entry.name))),
  );
  return { dir, files, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) };
}

export function manifestProblems(manifest: Manifest, expected: ReleaseMetadata): string[] {
  return [
    ...workspaceRanges(manifest),
    ...developmentConditions(manifest.exports, 'exports'),
    ...metadataProblems(manifest, expected),
  ];
}

function workspaceRanges(manifest: Manifest): string[] {
  return dependencyFields.flatMap((field) =>
    Object.entries(asRecord(manifest[field]))
      .filter(([, range]) => String(range).startsWith('workspace:'))
      .map(
        ([name, range]) =>
          `${field}.${name} is "${range}": npm cannot resolve workspace: ranges; publish with pnpm, which replaces them`,
      ),
  );
}

// The development condition points at src/*.ts for the workspace's own tests; a user resolving
// it (a bundler or tsx given that condition) would load TypeScript sources.
function developmentConditions(exportsField: unknown, path: string): string[] {
  return Object.entries(asRecord(exportsField)).flatMap(([key, target]) =>
    key === 'development'
      ? [
          `${path}.development points at ${JSON.stringify(target)}: publishConfig.exports must leave it out`,
        ]
      : developmentConditions(target, `${path}["${key}"]`),
  );
}

function metadataProblems(manifest: Manifest, expected: ReleaseMetadata): string[] {
  const problems: string[] = [];
  const repository = asRecord(manifest.repository);
  if (repository.type !== 'git' || repository.url !== expected.repositoryUrl) {
    problems.push(
      `repository is ${JSON.stringify(manifest.repository)}: set { "type": "git", "url": "${expected.repositoryUrl}" } (npm refuses provenance without it)`,
    );
  }
  if (repository.directory !== expected.directory) {
    problems.push(
      `repository.directory is ${JSON.stringify(repository.directory)}: set it to "${expected.directory}"`,
    );
  }
  if (manifest.license !== expected.license) {
    problems.push(
      `license is ${JSON.stringify(manifest.license)}: set it to "${expected.license}"`,
    );
  }
  if (typeof manifest.homepage !== 'string' || manifest.homepage === '') {
    problems.push('homepage is missing: link the package README in the repository');
  }
  if (typeof asRecord(manifest.bugs).url !== 'string') {
    problems.push('bugs.url is missing: link the repository issues');
  }
  return problems;
}

/** The license, the files `exports` names, and the sources of every source map. */
export function fileProblems(pkg: PackedPackage, licenseText: string): string[] {
  const problems: string[] = [];
  if (!pkg.files.has('LICENSE') || read(pkg, 'LICENSE') !== licenseText) {
    problems.push('LICENSE is missing or differs from the repository LICENSE: copy it in');
  }
  for (const target of exportTargets(pkg.manifest.exports)) {
    if (!pkg.files.has(posix.normalize(target))) {
      problems.push(`exports names ${target}, which is not in the tarball: build before packing`);
    }
  }
  return [...problems, ...sourceMapProblems(pkg)];
}

function exportTargets(exportsField: unknown): string[] {
  if (typeof exportsField === 'string') return [exportsField];
  return Object.values(asRecord(exportsField)).flatMap(exportTargets);
}

// A source map that names a file the tarball lacks sends debuggers and editors to nothing.
function sourceMapProblems(pkg: PackedPackage): string[] {
  const problems: string[] = [];
  for (const file of pkg.files) {
    if (!/\.(js|d\.ts)$/.test(file)) continue;
    const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(read(pkg, file))?.[1];
    if (url === undefined) continue;
    const map = posix.join(posix.dirname(file), url);
    if (!pkg.files.has(map)) problems.push(`${file} points at ${map}, which is not in the tarball`);
  }
  for (const map of [...pkg.files].filter((file) => file.endsWith('.map'))) {
    const { sources = [], sourceRoot = '' } = JSON.parse(read(pkg, map)) as {
      sources?: string[];
      sourceRoot?: string;
    };
    for (const source of sources) {
      const path = posix.join(posix.dirname(map), sourceRoot, source);
      if (!pkg.files.has(path)) {
        problems.push(
          `${map} names ${source} (${path}), which is not in the tarball: add its folder to "files" or stop emitting maps`,
        );
      }
    }
  }
  return problems;
}

function read(pkg: PackedPackage, file: string): string {
  return readFileSync(join(pkg.dir, file), 'utf8');
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}
