// Builds and packs the workspace's published packages as the release does (`pnpm pack` applies
// publishConfig and replaces workspace: ranges): shared by the tests that check what a user installs.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Manifest, type PackedPackage, unpack } from './packed-package.js';

/** The repository root. */
export const workspaceRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** A package of the workspace, as its package.json describes it. */
export interface WorkspacePackage {
  readonly name: string;
  /** Its folder, relative to the root, e.g. `packages/core`. */
  readonly directory: string;
  readonly manifest: Manifest;
}

/** A packed package: its tarball, and the tarball unpacked. */
export interface PackResult extends PackedPackage {
  readonly tarball: string;
}

export function readManifest(file: string): Manifest {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Every package under packages/ that is not private. */
export function publishedPackages(): WorkspacePackage[] {
  return readdirSync(join(workspaceRoot, 'packages'))
    .map((folder) => {
      const directory = `packages/${folder}`;
      const manifest = readManifest(join(workspaceRoot, directory, 'package.json'));
      return { name: String(manifest.name), directory, manifest };
    })
    .filter((pkg) => pkg.manifest.private !== true);
}

/** Builds `packages` and what they depend on; turbo replays its cache when nothing changed. */
export function buildPackages(packages: readonly WorkspacePackage[]): void {
  execFileSync(
    'pnpm',
    [
      'exec',
      'turbo',
      'run',
      'build',
      '--output-logs=errors-only',
      ...packages.map((pkg) => `--filter=${pkg.name}`),
    ],
    { cwd: workspaceRoot, stdio: 'pipe' },
  );
}

/** Builds `packages`, then packs each into `scratch`. */
export function buildAndPack(
  packages: readonly WorkspacePackage[],
  scratch: string,
): Map<string, PackResult> {
  // A fresh build first: packing a stale or missing dist would ship the wrong files.
  buildPackages(packages);
  const packed = new Map<string, PackResult>();
  for (const pkg of packages) {
    const into = join(scratch, pkg.directory);
    mkdirSync(into, { recursive: true });
    const output = execFileSync('pnpm', ['pack', '--json', '--pack-destination', into], {
      cwd: join(workspaceRoot, pkg.directory),
      encoding: 'utf8',
    });
    const tarball = String(JSON.parse(output).filename);
    packed.set(pkg.name, { tarball, ...unpack(tarball, into) });
  }
  return packed;
}
