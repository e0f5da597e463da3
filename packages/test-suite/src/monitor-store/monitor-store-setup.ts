// What a monitor store gives the contract suite, and what each case receives.
import type { MonitorStore, MonitorStoreCapabilities } from '@eda/workflow-monitor';
import type { ContractCase, ContractTiming } from '../contract-case.js';

/** A capability flag a monitor store case needs (the suite has no optional hooks). */
export type MonitorStoreRequirement = keyof MonitorStoreCapabilities;

/** One isolated data set (its own schema or tables), for one case. */
export interface MonitorStoreEnvironment {
  /** The store under test. */
  readonly store: MonitorStore;
  /**
   * Another store over the same data, as a second monitor or a restarted one opens it (its own
   * connections). An in-memory store, whose data lives in the object, returns itself.
   */
  open(): Promise<MonitorStore>;
  /** Deletes the data and closes every store and connection it opened. */
  cleanup(): Promise<void>;
}

/** What `describeMonitorStoreContract` needs from a store. */
export interface MonitorStoreContractSetup extends ContractTiming {
  /** The capabilities the store claims; the store must report exactly these. */
  readonly capabilities: MonitorStoreCapabilities;
  /** A fresh, isolated environment for one case. Retried on failure (set-up, never assertions). */
  createEnvironment(): Promise<MonitorStoreEnvironment>;
}

/** What a monitor store case runs with. */
export interface MonitorStoreCaseContext {
  readonly setup: MonitorStoreContractSetup;
  readonly environment: MonitorStoreEnvironment;
  /** The store under test, checked against the claimed capabilities. */
  readonly store: MonitorStore;
  readonly capabilities: MonitorStoreCapabilities;
  /** `label` plus a suffix unique to this run: use it for correlation and record ids. */
  name(label: string): string;
}

/** A monitor store contract case. */
export type MonitorStoreCase = ContractCase<MonitorStoreCaseContext, MonitorStoreRequirement>;
