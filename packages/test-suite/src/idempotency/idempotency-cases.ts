// Every case of the idempotency store contract, by id.
import {
  completeCase,
  leaseTakeoverCase,
  parallelClaimsCase,
  releaseCase,
  restartCase,
  retentionCase,
  versionGuardCase,
  versionRaceCase,
} from './claim-cases.js';
import { failedHandlerRetriedCase } from './consumer-cases.js';
import type { IdempotencyCase } from './idempotency-setup.js';
import { lateCompletionCase, lateVersionCompletionCase } from './late-completion-cases.js';

/** The idempotency store contract's cases, by id. */
export const idempotencyStoreCases = {
  parallelClaims: parallelClaimsCase,
  complete: completeCase,
  release: releaseCase,
  leaseTakeover: leaseTakeoverCase,
  lateCompletion: lateCompletionCase,
  lateVersionCompletion: lateVersionCompletionCase,
  retention: retentionCase,
  versionGuard: versionGuardCase,
  versionRace: versionRaceCase,
  failedHandlerRetried: failedHandlerRetriedCase,
  restart: restartCase,
} as const satisfies Readonly<Record<string, IdempotencyCase>>;

/** Id of an idempotency store case. */
export type IdempotencyStoreCaseId = keyof typeof idempotencyStoreCases;
