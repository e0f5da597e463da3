// `pnpm test:mutation`: runs Stryker on the core pipeline in place (see stryker.config.mjs), on a
// clean git tree only, and afterwards checks that every mutated source is back as committed.
// Usage: pnpm test:mutation [-- --mutate packages/core/src/<file>.ts] [other stryker options]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { mutatedFiles } from '../../stryker.config.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));

function git(...args) {
  const result = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`git ${args.join(' ')} failed: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/** Paths with uncommitted changes (tracked or untracked, not ignored), from `git status`. */
function changedPaths() {
  return git('status', '--porcelain=v1', '--untracked-files=all')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => line.slice(3));
}

const args = process.argv.slice(2);
if (args[0] === '--') args.shift();

// A mutant left behind by an interrupted run must never be committed: start only from a tree
// whose sources match HEAD, so that afterwards any difference is Stryker's and can be undone.
const dirty = changedPaths();
if (dirty.length > 0) {
  console.error(
    'test:mutation: the git tree has uncommitted changes; Stryker mutates the sources in place and ' +
      'this script restores them from git afterwards, so it starts only on a clean tree.\n' +
      `Commit or stash these first:\n  ${dirty.join('\n  ')}`,
  );
  process.exit(2);
}

const mutateAt = args.indexOf('--mutate');
if (mutateAt !== -1) {
  const requested = (args[mutateAt + 1] ?? '').split(',').filter((entry) => entry.length > 0);
  if (requested.length === 0) {
    console.error(
      'test:mutation: --mutate needs a file, e.g. --mutate packages/core/src/retry-policy.ts',
    );
    process.exit(2);
  }
  for (const entry of requested) {
    const file = entry.replace(/:\d+(:\d+)?-\d+(:\d+)?$/, '');
    if (!existsSync(`${root}/${file}`)) {
      console.error(
        `test:mutation: --mutate ${file}: no such file (paths are relative to the repo root)`,
      );
      process.exit(2);
    }
  }
}

const stryker = spawn(`${root}/node_modules/.bin/stryker`, ['run', 'stryker.config.mjs', ...args], {
  cwd: root,
  stdio: 'inherit',
});
// Ctrl-C reaches Stryker through the terminal's process group; let it restore the files itself,
// and keep this process alive to check the tree once it has exited.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => stryker.kill(signal));
}
const exitCode = await new Promise((resolve) => {
  stryker.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
});

// Stryker restores the files it mutated when it exits normally; a crash or a kill may leave a
// mutant in place. Put back those of the mutated files that differ from HEAD, and refuse to
// touch anything else (that would be someone's edit made while the run was going on).
const mutatable = new Set(mutatedFiles);
const left = changedPaths();
const toRestore = left.filter((path) => mutatable.has(path));
if (toRestore.length > 0) {
  git('checkout', 'HEAD', '--', ...toRestore);
  console.error(
    `test:mutation: restored from git (a mutant was left in place):\n  ${toRestore.join('\n  ')}`,
  );
}
const stillChanged = changedPaths();
if (stillChanged.length > 0) {
  console.error(
    'test:mutation: the tree is not clean after the run; these changes were not made by this ' +
      `script and were left alone, check them:\n  ${stillChanged.join('\n  ')}`,
  );
  process.exit(exitCode === 0 ? 1 : exitCode);
}
process.exit(exitCode);
