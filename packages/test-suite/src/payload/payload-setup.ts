// What an adapter gives the payload store contract suite, and what each case receives.
import type { DataRef, PayloadStore } from '@eda/core';
import type { PayloadStoreCapabilities } from '@eda/core/adapter';
import type { ContractCase, ContractTiming } from '../contract-case.js';

/** A capability flag that a payload case needs. */
export type PayloadRequirement = keyof PayloadStoreCapabilities;

/** One isolated bucket prefix, for one case. */
export interface PayloadEnvironment {
  /** The store under test, confined to this environment's bucket and prefix. */
  readonly store: PayloadStore;
  /** Changes the stored bytes behind `ref` (same key), as an attacker or a bit flip would. */
  alter(ref: DataRef): Promise<void>;
  /**
   * References the store must refuse without reading (EDA_PAYLOAD_FORGED), built from a valid
   * one: another bucket, another prefix, keys that escape with `..`, absolute or URL-like keys.
   * Make them point where an unchecked read would find bytes, when you can. The suite adds
   * generic ones of its own. @default none beyond the generic ones
   */
  forgedRefs?(valid: DataRef): readonly DataRef[];
  /** Deletes the prefix and closes clients. */
  cleanup(): Promise<void>;
}

/** What `describePayloadStoreContract` needs from an adapter. */
export interface PayloadContractSetup extends ContractTiming {
  /** The capabilities the adapter claims; the store must report exactly these. */
  readonly capabilities: PayloadStoreCapabilities;
  /** Size of the large round trip, in bytes. @default 20971520 (20 MiB) */
  readonly largeBytes?: number;
  /** A fresh, isolated environment for one case. Retried on failure (set-up, never assertions). */
  createEnvironment(): Promise<PayloadEnvironment>;
}

/** What a payload case runs with. */
export interface PayloadCaseContext {
  readonly setup: PayloadContractSetup;
  readonly environment: PayloadEnvironment;
  /** The store under test, checked against the claimed capabilities. */
  readonly store: PayloadStore;
  readonly capabilities: PayloadStoreCapabilities;
  /** Runs `step` after the case (last registered first). */
  defer(step: () => unknown): void;
}

/** A payload store contract case. */
export type PayloadCase = ContractCase<PayloadCaseContext, PayloadRequirement>;
