// A fixture script run as its own Node process, the way a user's service runs, with what it
// prints collected, so a test can wait on its output and SIGKILL it at a chosen moment.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const running: ChildProcess[] = [];

export interface FixtureChild {
  readonly child: ChildProcess;
  /** What it wrote to standard output so far. */
  output(): string;
  /** What it wrote to standard error so far. */
  errors(): string;
}

/** Starts `test/fixtures/<fixture>` with tsx and `env` added to this process's environment. */
export function startFixtureChild(fixture: string, env: Record<string, string>): FixtureChild {
  const script = fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url));
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', script], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  let errors = '';
  child.stdout!.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    errors += chunk;
  });
  return { child, output: () => output, errors: () => errors };
}

/** SIGKILLs every fixture child still running (for afterEach). */
export function killFixtureChildren(): void {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
}
