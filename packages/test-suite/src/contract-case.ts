// What every contract suite shares: a case names the capabilities it needs, runs in a fresh
// environment that is always cleaned up, and is registered with vitest as one test, visibly
// skipped when the adapter lacks what it needs.
import { abortableSleep as pause } from '@eda/core/adapter';
import { describe, it } from 'vitest';

/** One named check of a contract, runnable on its own or through a `describe...Contract` function. */
export interface ContractCase<TContext, TRequirement extends string = string> {
  /** The test title: what the adapter must do. */
  readonly name: string;
  /** Capabilities (and environment hooks) the case needs; it is skipped, with the reason, when one is missing. */
  readonly requires: readonly TRequirement[];
  /** Runs the check; rejects when the adapter breaks the contract. */
  run(context: TContext): Promise<void>;
}

/** Options shared by the `describe...Contract` functions. */
export interface ContractOptions {
  /**
   * Cases (by their id, the key in the suite's case map) that are known to fail, each with the
   * reason (a bug reference). They are registered with `it.fails`, titled with the reason, so
   * the run stays green while the failure stays visible, and the test turns red as soon as the
   * adapter is fixed (then remove the entry). Unknown ids are rejected.
   * @default {}
   */
  readonly expectedFailures?: Readonly<Record<string, string>>;
}

/** Settings every suite's setup may give. */
export interface ContractTiming {
  /**
   * How long a wait may see no progress (no message, no retry) before the case fails. Raise it
   * for brokers that rebalance or restart slowly.
   * @default 3000
   */
  readonly idleMs?: number;
  /** Per-test timeout passed to vitest. @default vitest's `testTimeout` */
  readonly timeoutMs?: number;
}

/** Registers deferred clean-up steps of one case run. */
export interface CaseScope {
  /** Runs `step` after the case (last registered first), before the environment's `cleanup`. */
  defer(step: () => unknown): void;
}

/** What every suite's setup gives: the claimed capabilities, the declared hooks and fresh environments. */
export interface ContractSetup<TEnvironment> extends ContractTiming {
  /** Capability flags, each `true` or `false`. */
  readonly capabilities: object;
  /** The optional environment hooks `createEnvironment` provides. @default [] */
  readonly hooks?: readonly string[];
  createEnvironment(): Promise<TEnvironment>;
}

/** A suite as the generic registration needs it. */
export interface ContractSuite<
  TSetup extends ContractSetup<TEnvironment>,
  TEnvironment extends { cleanup(): Promise<void> },
  TContext,
  TRequirement extends string,
> {
  /** What the suite holds to its contract, such as `transport`: named in titles and skip reasons. */
  readonly subject: string;
  /** The requirements that are environment hooks (declared in `setup.hooks`); every other one is a capability flag. */
  readonly hooks: readonly TRequirement[];
  readonly cases: Readonly<Record<string, ContractCase<TContext, TRequirement>>>;
  /** Builds what a case runs with over a fresh environment. */
  createContext(setup: TSetup, environment: TEnvironment, scope: CaseScope): TContext;
}

/** The idle timeout of a setup. */
export const DEFAULT_IDLE_MS = 3000;

/** The first requirement of `testCase` that `setup` lacks, as a reason, or undefined. */
function missingRequirement<
  TSetup extends ContractSetup<TEnvironment>,
  TEnvironment extends { cleanup(): Promise<void> },
  TContext,
  TRequirement extends string,
>(
  suite: ContractSuite<TSetup, TEnvironment, TContext, TRequirement>,
  setup: TSetup,
  testCase: ContractCase<TContext, TRequirement>,
): string | undefined {
  const capabilities = setup.capabilities as Readonly<Record<string, boolean>>;
  for (const requirement of testCase.requires) {
    if (suite.hooks.includes(requirement)) {
      if (!setup.hooks?.includes(requirement)) return `environment has no ${requirement} hook`;
    } else if (!capabilities[requirement]) {
      return `${suite.subject} has no ${requirement} capability`;
    }
  }
  return undefined;
}

/**
 * Runs one case of `suite` directly: refuses a case the setup cannot satisfy (a case run
 * directly must not pass by doing nothing), then runs it in a fresh environment (see
 * `withEnvironment`) with the context the suite builds.
 */
export async function runContractCase<
  TSetup extends ContractSetup<TEnvironment>,
  TEnvironment extends { cleanup(): Promise<void> },
  TContext,
  TRequirement extends string,
>(
  suite: ContractSuite<TSetup, TEnvironment, TContext, TRequirement>,
  setup: TSetup,
  testCase: ContractCase<TContext, TRequirement>,
): Promise<void> {
  const reason = missingRequirement(suite, setup, testCase);
  if (reason) throw new Error(`Case "${testCase.name}" cannot run: ${reason}.`);
  await withEnvironment(
    () => setup.createEnvironment(),
    (environment, scope) => testCase.run(suite.createContext(setup, environment, scope)),
  );
}

/** Registers a `describe` block with one vitest test per case of `suite`. */
export function describeContract<
  TSetup extends ContractSetup<TEnvironment>,
  TEnvironment extends { cleanup(): Promise<void> },
  TContext,
  TRequirement extends string,
>(
  suite: ContractSuite<TSetup, TEnvironment, TContext, TRequirement>,
  name: string,
  setup: TSetup,
  options: ContractOptions = {},
): void {
  const expected = options.expectedFailures ?? {};
  for (const id of Object.keys(expected)) {
    if (!Object.hasOwn(suite.cases, id)) {
      throw new Error(
        `expectedFailures names "${id}", which is not a case of the ${suite.subject} contract; its cases are: ${Object.keys(suite.cases).join(', ')}.`,
      );
    }
  }
  describe(`${suite.subject} contract: ${name}`, () => {
    for (const [id, testCase] of Object.entries(suite.cases)) {
      const reason = missingRequirement(suite, setup, testCase);
      if (reason) {
        it.skip(`[skipped: ${reason}] ${testCase.name}`, () => undefined);
        continue;
      }
      const run = () => runContractCase(suite, setup, testCase);
      const failure = expected[id];
      if (failure !== undefined)
        it.fails(`[expected to fail: ${failure}] ${testCase.name}`, run, setup.timeoutMs);
      else it(testCase.name, run, setup.timeoutMs);
    }
  });
}

/** How long one clean-up step may take before it is abandoned and reported. */
const CLEANUP_STEP_MS = 15_000;

function bounded(step: () => unknown): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`A clean-up step did not finish within ${CLEANUP_STEP_MS} ms.`)),
      CLEANUP_STEP_MS,
    );
  });
  return Promise.race([Promise.resolve().then(step), timeout]).finally(() => clearTimeout(timer));
}

/**
 * Creates an environment (retrying set-up, never assertions), runs `body`, then always runs the
 * deferred steps and the environment's `cleanup`. A failing body wins over clean-up errors; a
 * clean-up error alone fails the run, because a leak breaks the next case.
 */
async function withEnvironment<TEnvironment extends { cleanup(): Promise<void> }>(
  create: () => Promise<TEnvironment>,
  body: (environment: TEnvironment, scope: CaseScope) => Promise<void>,
  setupAttempts = 3,
): Promise<void> {
  let environment: TEnvironment | undefined;
  let lastError: unknown;
  for (let attempt = 1; attempt <= setupAttempts && !environment; attempt++) {
    try {
      environment = await create();
    } catch (error) {
      lastError = error;
      if (attempt < setupAttempts) await pause(200 * attempt);
    }
  }
  if (!environment) {
    throw new Error(`Could not create the test environment in ${setupAttempts} attempts.`, {
      cause: lastError,
    });
  }
  const steps: Array<() => unknown> = [];
  let failure: { error: unknown } | undefined;
  try {
    await body(environment, { defer: (step) => void steps.push(step) });
  } catch (error) {
    failure = { error };
  }
  const cleanupErrors: unknown[] = [];
  for (const step of steps.reverse())
    await bounded(step).catch((error) => cleanupErrors.push(error));
  await bounded(() => environment.cleanup()).catch((error) => cleanupErrors.push(error));
  if (failure) throw failure.error;
  if (cleanupErrors.length === 1) throw cleanupErrors[0];
  if (cleanupErrors.length > 1) throw new AggregateError(cleanupErrors, 'Clean-up failed.');
}
