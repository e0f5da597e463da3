// What an adapter gives the idempotency store contract suite, and what each case receives.
import type { IdempotencyStore } from '@eda/core';
import type { IdempotencyCapabilities } from '@eda/core/adapter';
import type { ContractCase, ContractTiming } from '../contract-case.js';

/** Optional hooks an idempotency environment may offer. */
export type IdempotencyHook = 'restart';

/** A capability flag or a hook that an idempotency case needs. */
export type IdempotencyRequirement = keyof IdempotencyCapabilities | IdempotencyHook;

/** One isolated key space (its own key prefix or table), for one case. */
export interface IdempotencyEnvironment {
  /** The store under test. */
  readonly store: IdempotencyStore;
  /** Simulates a restart of the client process: returns a new store over the same state. */
  restart?(): Promise<IdempotencyStore>;
  /** Deletes the key space and closes connections. */
  cleanup(): Promise<void>;
}

/** What `describeIdempotencyStoreContract` needs from an adapter. */
export interface IdempotencyContractSetup extends ContractTiming {
  /** The capabilities the adapter claims; the store must report exactly these. */
  readonly capabilities: IdempotencyCapabilities;
  /** The optional hooks `createEnvironment` provides. @default [] */
  readonly hooks?: readonly IdempotencyHook[];
  /** A fresh, isolated environment for one case. Retried on failure (set-up, never assertions). */
  createEnvironment(): Promise<IdempotencyEnvironment>;
}

/** What an idempotency case runs with. */
export interface IdempotencyCaseContext {
  readonly setup: IdempotencyContractSetup;
  readonly environment: IdempotencyEnvironment;
  /** The store under test, checked against the claimed capabilities. */
  readonly store: IdempotencyStore;
  readonly capabilities: IdempotencyCapabilities;
  /** Idle timeout of every wait, from the setup. */
  readonly idleMs: number;
  /** `label` plus a suffix unique to this run: use it for keys. */
  name(label: string): string;
  /** The environment's `restart`. */
  restart(): Promise<IdempotencyStore>;
  /** Runs `step` after the case (last registered first). */
  defer(step: () => unknown): void;
}

/** An idempotency store contract case. */
export type IdempotencyCase = ContractCase<IdempotencyCaseContext, IdempotencyRequirement>;
