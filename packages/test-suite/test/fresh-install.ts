// A user's fresh project outside the workspace: plain npm installs the packed tarballs, the test
// measures what that cost, then typechecks and runs README snippets in it as the user would.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { workspaceRoot } from './pack-workspace.js';

const run = promisify(execFile);

/** What an install put on disk. */
export interface InstallFootprint {
  /** `du -sk node_modules`. */
  readonly kib: number;
  /** Packages npm installed (entries of package-lock.json, the project itself left out). */
  readonly packages: number;
}

/** Creates the project's package.json: ESM, private, so npm and node treat it as a user's app. */
export function initProject(dir: string, name: string): void {
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name, private: true, type: 'module' }, null, 2)}\n`,
  );
}

/** `npm install` of tarball paths and `name@version` specs; `dev` saves them as devDependencies. */
export async function npmInstall(
  dir: string,
  specs: readonly string[],
  dev = false,
): Promise<void> {
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', ...(dev ? ['--save-dev'] : []), ...specs],
    {
      cwd: dir,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
}

export async function footprint(dir: string): Promise<InstallFootprint> {
  const { stdout } = await run('du', ['-sk', join(dir, 'node_modules')]);
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, unknown>;
  };
  return {
    kib: Number.parseInt(stdout, 10),
    packages: Object.keys(lock.packages).filter((key) => key !== '').length,
  };
}

/**
 * Typechecks `files` with `strict` and `moduleResolution: nodenext`, with the workspace's
 * TypeScript; resolves with tsc's output, rejects with it when tsc finds errors.
 */
export async function typecheck(dir: string, files: readonly string[]): Promise<void> {
  const tsconfig = {
    compilerOptions: {
      strict: true,
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'es2024',
      types: ['node'],
      noEmit: true,
      // Node runs the snippets by stripping types: keep them to syntax it can strip.
      erasableSyntaxOnly: true,
      verbatimModuleSyntax: true,
      skipLibCheck: false,
    },
    files,
  };
  writeFileSync(join(dir, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
  const tsc = join(workspaceRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    await run(process.execPath, [tsc, '-p', dir], { cwd: dir });
  } catch (error) {
    const { stdout = '' } = error as { stdout?: string };
    throw new Error(`tsc found errors in ${dir}:\n${stdout}`);
  }
}

/** What a snippet did when run. */
export interface SnippetRun {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a .ts file with node (which strips the types) and the given extra environment. Rejects if
 * it fails or has not exited within `timeoutMs`: a snippet that leaves a connection open never exits.
 */
export async function runSnippet(
  dir: string,
  file: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<SnippetRun> {
  try {
    const { stdout, stderr } = await run(process.execPath, [file], {
      cwd: dir,
      env: { ...process.env, ...env },
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    return { stdout, stderr };
  } catch (error) {
    const { stdout = '', stderr = '', killed } = error as SnippetRun & { killed?: boolean };
    const why = killed
      ? `had not exited after ${timeoutMs} ms (is something left open?)`
      : 'failed';
    throw new Error(`${file} ${why}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
  }
}
