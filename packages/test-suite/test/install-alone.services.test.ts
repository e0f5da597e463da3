// Issue 15: a user installs @eda/core and one adapter from npm, alone. For each adapter, a fresh
// project outside the workspace gets the packed tarballs and the adapter's client by plain npm;
// the README's snippets (```ts readme-snippet blocks) are typechecked strictly and run against the
// real service. Core alone runs the in-memory snippets. Install sizes are printed and written to JSON.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endpoints } from '@eda/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  footprint,
  type InstallFootprint,
  initProject,
  npmInstall,
  runSnippet,
  typecheck,
} from './fresh-install.js';
import {
  buildAndPack,
  type PackResult,
  publishedPackages,
  readManifest,
  type WorkspacePackage,
  workspaceRoot,
} from './pack-workspace.js';
import { type ReadmeSnippet, readmeSnippets } from './readme-snippets.js';
import { removeSnippetLeftovers } from './snippet-leftovers.js';

const core = '@eda/core';
// The contract suites run under vitest in an adapter's own tests: not an adapter a user installs.
const notAnAdapter = new Set([core, '@eda/test-suite']);
const published = publishedPackages();
const rootDevDependencies = asStrings(
  readManifest(join(workspaceRoot, 'package.json')).devDependencies,
);

/** One fresh project: what it installs and which READMEs' snippets run in it. */
interface Install {
  readonly label: string;
  readonly packages: readonly WorkspacePackage[];
  /** The adapter's clients at the version the workspace pins (its devDependencies). */
  readonly clients: readonly string[];
  /** Type packages a TypeScript user adds, installed after the footprint is measured. */
  readonly types: readonly string[];
  readonly readmes: readonly string[];
}

const corePackage = published.find((pkg) => pkg.name === core)!;
const installs: Install[] = [
  {
    label: `${core} alone (in-memory)`,
    packages: [corePackage],
    clients: [],
    types: [`@types/node@${rootDevDependencies['@types/node']}`],
    readmes: ['README.md', 'packages/core/README.md'],
  },
  ...published.filter((pkg) => !notAnAdapter.has(pkg.name)).map(adapterInstall),
];

function adapterInstall(adapter: WorkspacePackage): Install {
  const pins = asStrings(adapter.manifest.devDependencies);
  const clients = Object.keys(asStrings(adapter.manifest.peerDependencies)).filter(
    (name) => name !== core,
  );
  const pinned = (name: string) => {
    const version = pins[name];
    if (version === undefined)
      throw new Error(`${adapter.name} does not pin its peer ${name} in devDependencies`);
    return `${name}@${version}`;
  };
  return {
    label: `${adapter.name} alone`,
    packages: [corePackage, adapter],
    clients: clients.map(pinned),
    types: [
      `@types/node@${rootDevDependencies['@types/node']}`,
      ...clients
        .filter((name) => pins[`@types/${name}`] !== undefined)
        .map((name) => pinned(`@types/${name}`)),
    ],
    readmes: [`${adapter.directory}/README.md`],
  };
}

const scratch = mkdtempSync(join(tmpdir(), 'eda-install-alone-'));
const projects = new Map<string, { dir: string; footprint: InstallFootprint }>();
// A database of this run's own, so the snippet's outbox relay sees no other test's rows.
const database = `eda_install_alone_${process.pid}`;

// The snippets read the usual variables of each client, with loopback defaults.
const snippetEnv = (): Record<string, string> => ({
  DATABASE_URL: withDatabase(endpoints.postgresUrl, database),
  REDIS_URL: endpoints.redisUrl,
  AMQP_URL: endpoints.amqpUrl,
  KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
  S3_ENDPOINT: endpoints.s3.endpoint,
  S3_BUCKET: endpoints.s3.bucket,
  AWS_REGION: endpoints.s3.region,
  AWS_ACCESS_KEY_ID: endpoints.s3.accessKeyId,
  AWS_SECRET_ACCESS_KEY: endpoints.s3.secretAccessKey,
});

beforeAll(async () => {
  const packed = buildAndPack(published, join(scratch, 'packed'));
  execFileSync('createdb', ['--maintenance-db', endpoints.postgresUrl, database]);
  await removeSnippetLeftovers();
  // Two installs at a time: the machine has two cores, and npm's cache is warm after the first.
  await inBatches(installs, 2, async (install) => {
    const dir = mkdtempSync(join(scratch, 'user-')); // under the OS temp dir, outside the workspace
    initProject(dir, 'eda-user');
    const tarballs = install.packages.map((pkg) => (packed.get(pkg.name) as PackResult).tarball);
    await npmInstall(dir, [...tarballs, ...install.clients]);
    const measured = await footprint(dir);
    await npmInstall(dir, install.types, true);
    projects.set(install.label, { dir, footprint: measured });
  });
  report();
}, 900_000);

afterAll(async () => {
  // Local things first: they must go even when a shared service is down at this moment.
  rmSync(scratch, { recursive: true, force: true });
  execFileSync('dropdb', [
    '--maintenance-db',
    endpoints.postgresUrl,
    '--if-exists',
    '--force',
    database,
  ]);
  await removeSnippetLeftovers();
});

function report(): void {
  const rows = installs.map((install) => ({
    install: install.label,
    installed: [...install.packages.map((pkg) => pkg.name), ...install.clients],
    ...projects.get(install.label)!.footprint,
  }));
  const file = join(tmpdir(), 'eda-install-alone.json');
  writeFileSync(file, `${JSON.stringify(rows, null, 2)}\n`);
  console.log(
    [
      'install footprints (node_modules):',
      ...rows.map(
        (row) => `  ${row.install}: ${(row.kib / 1024).toFixed(1)} MiB, ${row.packages} packages`,
      ),
      `written to ${file}`,
    ].join('\n'),
  );
}

describe.each(installs)('$label, from its tarball in a fresh npm project', (install) => {
  const snippets = install.readmes.flatMap((readme) =>
    readmeSnippets(readFileSync(join(workspaceRoot, readme), 'utf8'), readme).map((snippet) => ({
      readme,
      ...snippet,
    })),
  );

  it('has a runnable getting-started snippet in its README, each saying what it prints', () => {
    expect(snippets.length).toBeGreaterThan(0);
    // A snippet that prints nothing could exit without its handler ever running.
    for (const snippet of snippets)
      expect(snippet.prints, `${snippet.readme}:${snippet.line}`).not.toEqual([]);
  });

  it.each(snippets)(
    '$readme:$line typechecks (strict, nodenext) and runs as documented',
    async (snippet) => {
      const { dir } = projects.get(install.label)!;
      const file = snippetFile(snippet);
      writeFileSync(join(dir, file), snippet.code);
      await typecheck(dir, [file]);
      const { stdout } = await runSnippet(dir, file, snippetEnv(), 60_000);
      expect(stdout.split('\n').filter(Boolean)).toEqual(snippet.prints);
    },
  );
});

function snippetFile(snippet: ReadmeSnippet & { readme: string }): string {
  return `${snippet.readme.replaceAll('/', '-').replace(/\.md$/, '')}-${snippet.line}.ts`;
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function inBatches<T>(
  items: readonly T[],
  size: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  };
  await Promise.all(Array.from({ length: size }, worker));
}

function asStrings(value: unknown): Record<string, string> {
  return (value ?? {}) as Record<string, string>;
}
