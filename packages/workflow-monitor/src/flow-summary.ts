// What the monitor knows about one flow (one correlation id), as derived from its records and
// kept by the store: the shape stores persist and queries return.
import type { AuditRecord } from './audit-record.js';

/**
 * Where a flow stands. `unmatched`: no declared workflow starts it (yet: its start record may
 * still come); `running`; `stuck`: a deadline passed without what it waited for (noticed by
 * `evaluate`); `completed`: its end types were reached; `failed`: a message of it was
 * dead-lettered and not handled since.
 */
export type FlowState = 'unmatched' | 'running' | 'stuck' | 'completed' | 'failed';

/** A step as a deadline names it: which message type, and which service was to handle it. */
export interface ExpectedStep {
  /** Its position in the workflow's `steps`. */
  readonly index: number;
  readonly type: string;
  readonly service: string | undefined;
}

/** A deadline a flow missed, as noticed (and announced, once) by the monitor. */
export interface PassedDeadline {
  /** `workflow` for the whole flow's deadline, `step:<index>` for a step's. */
  readonly key: string;
  /** When it passed (epoch ms). */
  readonly dueAt: number;
  /** When the monitor noticed it. */
  readonly noticedAt: number;
  /** The step it waited for; for the whole flow's deadline, the first step not reached (if any). */
  readonly step: ExpectedStep | undefined;
  /** End types not reached when it was noticed. */
  readonly missing: readonly string[];
}

/** One flow as the store keeps it. */
export interface FlowSummary {
  readonly correlationId: string;
  /** The workflow that started it; undefined while `unmatched`. */
  readonly workflow: string | undefined;
  readonly state: FlowState;
  /** When its start message was first seen (epoch ms). */
  readonly startedAt: number | undefined;
  /** The latest record's time. */
  readonly lastAt: number;
  /** When it completed, or failed; undefined otherwise. */
  readonly endedAt: number | undefined;
  /** The next deadline not reached and not yet noticed; undefined when none is left. */
  readonly dueAt: number | undefined;
  /** Deadlines noticed so far, each announced once. */
  readonly passed: readonly PassedDeadline[];
  /** How many records the flow has. */
  readonly records: number;
}

/** What a flow is derived from: its timeline and what the store held before. */
export interface FlowInput {
  readonly correlationId: string;
  /** Every record of the flow, in timeline order (time, then record id). */
  readonly timeline: readonly AuditRecord[];
  /** The summary the store held; undefined for a new flow. */
  readonly previous: FlowSummary | undefined;
}

/** Derives a flow's summary; pure, so a store may call it inside its transaction. */
export type DeriveFlow = (input: FlowInput) => FlowSummary;

/** Orders a timeline: by time, then by record id (code-unit order), so every store agrees. */
export function compareRecords(a: AuditRecord, b: AuditRecord): number {
  return a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
