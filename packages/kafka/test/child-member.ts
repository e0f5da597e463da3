// Runs a fixture consumer in a child process and reads what it prints line by line, so a test
// can SIGKILL a member as a crash would (no close, no commit, no goodbye to the group).
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A fixture running in its own process. */
export interface ChildMember {
  /** Every line printed so far (a progress count for waits). */
  readonly lines: string[];
  /** Resolves when the process has exited. */
  readonly exited: Promise<unknown>;
  /** Kills the process with SIGKILL and waits for it to exit. */
  kill(): Promise<void>;
}

const running = new Set<ChildMember>();

/** Kills every child still running (for afterEach, so a failed case leaves no process behind). */
export async function killChildren(): Promise<void> {
  await Promise.all([...running].map((c) => c.kill()));
}

/** Starts `test/fixtures/<fixture>.ts` with `args`; `onLine` sees each line as it arrives. */
export function startChild(
  fixture: string,
  args: readonly string[],
  onLine: (line: string) => void = () => undefined,
): ChildMember {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--conditions=development',
      '--import',
      'tsx',
      fileURLToPath(new URL(`./fixtures/${fixture}.ts`, import.meta.url)),
      ...args,
    ],
    { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: string[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const complete = buffered.split('\n');
    buffered = complete.pop()!;
    for (const line of complete) {
      lines.push(line);
      onLine(line);
    }
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const member: ChildMember = {
    lines,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  running.add(member);
  void exited.then(() => running.delete(member));
  return member;
}
