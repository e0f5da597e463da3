// What an adapter gives the transport contract suite, and what each case receives.
import type { Bus, BusOptions, DeadLetterAdmin, Transport } from '@eda/core';
import type { TransportCapabilities } from '@eda/core/adapter';
import type { ContractCase, ContractTiming } from '../contract-case.js';

/** Optional fault and routing hooks an environment may offer; cases that need one are skipped without it. */
export type TransportHook =
  | 'killClient'
  | 'restartBroker'
  | 'connectWithSharedDestination'
  | 'deadLetterAdmin';

/** A capability flag or a hook that a transport case needs. */
export type TransportRequirement = keyof TransportCapabilities | TransportHook;

/** A dead-lettered message as the environment reads it back from the broker. */
export interface DeadLetterRecord {
  /** Every header of the dead letter, including the `x-eda-*` reason headers (see `readDeadLetterReason`). */
  readonly headers: Readonly<Record<string, string>>;
  /** The envelope attributes of the original message, without the transport's header prefix (for example `fromBinaryHeaders(headers)`). */
  readonly attributes: Readonly<Record<string, string>>;
  /** The original body, unchanged. */
  readonly body: Uint8Array;
}

/** One isolated namespace on the broker (its own topics, queues and groups), for one case. */
export interface TransportEnvironment {
  /** A new client on this namespace. Called several times per case; the suite closes each client it got. */
  connect(): Promise<Transport>;
  /** Dead letters of a subscription (consumer group or queue owner), oldest first. */
  deadLetters(subscription: string): Promise<readonly DeadLetterRecord[]>;
  /** Crashes `transport` (a client from `connect`): its in-flight deliveries are never settled. */
  killClient?(transport: Transport): Promise<void>;
  /** Restarts the broker (or drops every connection) while clients run. */
  restartBroker?(): Promise<void>;
  /**
   * A client on which all of `types` are carried by one destination (topic and queue), so a
   * subscription to one of them also receives the others (for the unhandled-type case).
   */
  connectWithSharedDestination?(types: readonly string[]): Promise<Transport>;
  /** The transport's dead-letter admin on this namespace (the suite closes it after the case). */
  deadLetterAdmin?(): Promise<DeadLetterAdmin>;
  /** Deletes the namespace. Called once, after every client was closed. */
  cleanup(): Promise<void>;
}

/** What `describeTransportContract` needs from an adapter. */
export interface TransportContractSetup extends ContractTiming {
  /**
   * The capabilities the adapter claims. Cases that need a missing one are skipped with the
   * reason; every connected client must report exactly these, and each claimed one is tested.
   */
  readonly capabilities: TransportCapabilities;
  /** The optional hooks `createEnvironment` provides; a declared hook that is missing fails the cases that need it. @default [] */
  readonly hooks?: readonly TransportHook[];
  /** A fresh, isolated environment for one case. Retried on failure (set-up, never assertions). */
  createEnvironment(): Promise<TransportEnvironment>;
}

/** What a transport case runs with. */
export interface TransportCaseContext {
  readonly setup: TransportContractSetup;
  readonly environment: TransportEnvironment;
  /** The claimed capabilities (equal to every connected client's). */
  readonly capabilities: TransportCapabilities;
  /** Idle timeout of every wait, from the setup. */
  readonly idleMs: number;
  /** `label` plus a suffix unique to this run: use it for types, services and subscriptions. */
  name(label: string): string;
  /** A new client, checked against the claimed capabilities and closed after the case. */
  connect(): Promise<Transport>;
  /** The environment's `connectWithSharedDestination`, checked and closed like `connect`. */
  connectWithSharedDestination(types: readonly string[]): Promise<Transport>;
  /** Closes a client from `connect` now (instead of after the case). */
  close(transport: Transport): Promise<void>;
  /** The environment's `killClient`; the killed client is not closed afterwards. */
  killClient(transport: Transport): Promise<void>;
  /** The environment's `restartBroker`. */
  restartBroker(): Promise<void>;
  /** The environment's `deadLetterAdmin`, closed after the case. */
  deadLetterAdmin(): Promise<DeadLetterAdmin>;
  /** The environment's `deadLetters`. */
  deadLetters(subscription: string): Promise<readonly DeadLetterRecord[]>;
  /**
   * Polls `deadLetters(subscription)` until it holds at least `count` records; `progress`
   * (such as a count of retries) restarts the idle timer.
   */
  waitForDeadLetters(
    subscription: string,
    count: number,
    progress?: () => unknown,
  ): Promise<readonly DeadLetterRecord[]>;
  /** `createBus` with fast retries (50 ms, no jitter) unless `options.retry` says otherwise; closed after the case. */
  bus(options: BusOptions): Bus;
  /** Runs `step` after the case (last registered first). */
  defer(step: () => unknown): void;
}

/** A transport contract case. */
export type TransportCase = ContractCase<TransportCaseContext, TransportRequirement>;
