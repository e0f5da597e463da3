// The Redis idempotency store: core's IdempotencyStore contract over an ioredis client, with
// atomic Lua scripts, leases, retention, a version guard and claims coalesced per consumer.
import { randomUUID } from 'node:crypto';
import { ConfigurationError, type IdempotencyStore } from '@eda/core';
import type { ClaimOptions, ClaimResult, IdempotencyCapabilities } from '@eda/core/adapter';
import { createCoalescer } from './coalescer.js';
import { CLAIM_SCRIPT, COMPLETE_SCRIPT, RELEASE_SCRIPT } from './lua-scripts.js';
import { toRedisKey } from './redis-key.js';
import { createScriptRunner, type RedisClient } from './run-script.js';
import { RedisDedupeError } from './store-errors.js';

/** Options of `createRedisIdempotencyStore`. */
export interface RedisIdempotencyStoreOptions {
  /**
   * An ioredis `Redis` or `Cluster` client that you built and own: the store never closes it.
   * For a fast, clear failure while Redis is down, build it with `enableOfflineQueue: false`
   * and `maxRetriesPerRequest: 1` (see the README's failure policy). Leave ioredis's
   * `commandTimeout` unset: the store bounds every call by `timeoutMs` itself, and unlike
   * ioredis's timer it first reads an answer that a blocked event loop left waiting.
   */
  readonly client: RedisClient;
  /**
   * Start of every key the store writes. Must not contain `{` or `}`: the store puts the
   * consumer's name in braces after it as the cluster hash tag.
   * @default 'eda:dedupe:'
   */
  readonly keyPrefix?: string;
  /**
   * A Redis call that has not answered after this long fails with UnavailableError. Keep it at
   * or below core's idempotency `timeoutMs`.
   * @default 1000
   */
  readonly timeoutMs?: number;
  /**
   * Gather `claim` and `complete` calls made close together into one script call per consumer
   * (one round trip for a whole batch being handled concurrently). Off sends one call each.
   * @default true
   */
  readonly coalesce?: boolean;
  /**
   * How long coalescing waits after the first call before sending. 0 sends at the end of the
   * current event-loop turn, which adds no timer delay.
   * @default 0
   */
  readonly batchWindowMs?: number;
  /**
   * Most keys in one script call. A script blocks Redis while it runs, so keep batches modest.
   * @default 256
   */
  readonly maxBatchSize?: number;
  /**
   * Send a consumer's gathered calls as soon as this many are waiting, instead of at the end of
   * the event-loop turn. A consumer handles a burst of deliveries in one turn; sent in parts,
   * Redis runs the first part's script while Node.js still works through the rest of the burst,
   * instead of each side waiting for the other. Capped at `maxBatchSize`.
   * @default 32
   */
  readonly sendAt?: number;
  /**
   * Split each coalesced batch into up to this many script calls (of at least 8 keys each),
   * sent together. Redis then runs one call while Node.js handles the answer of the one before,
   * instead of each waiting for the other; a consumer with short handlers and a high
   * concurrency gets more throughput, at the price of more (smaller) script calls. Every call is
   * still atomic per key, so nothing a claim or a completion guarantees changes.
   * @default 1 (one call per batch)
   */
  readonly splitBatches?: number;
}

/** Counters since the store was created; each call of `stats()` returns a fresh copy. */
export interface RedisDedupeStats {
  /** Claims that won their key. */
  readonly claimed: number;
  /** Claims of keys already done within the retention window: duplicates skipped. */
  readonly duplicates: number;
  /** Claims of keys another consumer holds under an unexpired lease. */
  readonly inProgress: number;
  /** Version-guarded claims whose version was not newer than the applied one: skipped. */
  readonly stale: number;
  /** Successful completions. */
  readonly completed: number;
  /**
   * Completions refused because another claim took the key over after this claim's lease ended.
   * A completion after the lease ended is still recorded when nobody claimed the key since.
   */
  readonly completionsLost: number;
  /** Successful releases. */
  readonly released: number;
  /**
   * Claims that Redis ran after the store had already reported them unavailable (no answer
   * within `timeoutMs`), released when their late answer arrived so the key is not held for
   * the whole lease under a token nobody knows.
   */
  readonly lateClaimsReleased: number;
  /** Operations that failed because Redis was unreachable, slow or refused them. */
  readonly failures: number;
  /** Script calls sent to Redis (round trips); compare with the counts above to see batching. */
  readonly scriptCalls: number;
}

/** The Redis idempotency store. */
export interface RedisIdempotencyStore extends IdempotencyStore {
  /** The prefix every key starts with. */
  readonly keyPrefix: string;
  /**
   * Claims several keys (without a version) in as few round trips as the batch size and the
   * cluster slots allow; results in input order, with the guarantees of `claim` per key.
   */
  claimMany(keys: readonly string[], options: { readonly leaseMs: number }): Promise<ClaimResult[]>;
  /** The Redis key holding `dedupeKey`'s state, for inspection and tests. */
  redisKeyOf(dedupeKey: string): string;
  /** Counters of outcomes and round trips. */
  stats(): RedisDedupeStats;
}

type Counters = { -readonly [K in keyof RedisDedupeStats]: number };

interface ClaimItem {
  /** The dedupe key, as the caller gave it. */
  readonly key: string;
  /** Its Redis key (see toRedisKey). */
  readonly redisKey: string;
  readonly version: number | undefined;
}

interface CompleteItem {
  readonly redisKey: string;
  readonly token: string;
  readonly version: number | undefined;
}

const ADAPTER = 'createRedisIdempotencyStore';

function positiveInteger(name: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new ConfigurationError(
      `Redis idempotency store: ${name} is ${String(value)}: use a whole number of milliseconds from 1 to ${max}.`,
    );
  }
  return value;
}

function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new ConfigurationError(
      `Redis idempotency store: the key ${JSON.stringify(key)} is not a non-empty string.`,
    );
  }
  return key;
}

function checkVersion(version: unknown): number | undefined {
  if (version === undefined) return undefined;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    throw new ConfigurationError(
      `Redis idempotency store: the entity version ${String(version)} is not a non-negative safe integer.`,
    );
  }
  return version;
}

// Leases and retention must stay exact when Lua adds them to the server's clock in ms (doubles).
const MAX_DURATION_MS = 2 ** 48;

/**
 * Creates an idempotency store on Redis.
 *
 * Guarantees: of concurrent claims of one free key exactly one wins; a claim whose consumer
 * died expires after its lease and can be taken by another consumer; a completion that comes
 * after its lease ended is recorded unless another claim took the key over in the meantime
 * (then `complete` returns false and the applied version stays as it is); a done key is remembered
 * for the retention window; a version-guarded claim wins only with a version newer than the
 * last completed one (older or equal: `stale`, counted in `stats().stale`); keys are namespaced
 * per consumer and share one cluster slot per consumer. Redis decides every expiry with its own
 * clock. Not guaranteed: anything after Redis loses its data (a restart without persistence, a
 * failover before replication): completed keys are then forgotten and a redelivered message is
 * handled again.
 *
 * @throws ConfigurationError at once when an option is invalid.
 * @returns A store whose operations reject with UnavailableError when Redis is unreachable,
 * reconnecting or slower than `timeoutMs`, with RedisDedupeError when Redis refuses a script
 * (for example a foreign value stored under the prefix), and with ConfigurationError for an
 * invalid key, duration or version.
 */
export function createRedisIdempotencyStore(
  options: RedisIdempotencyStoreOptions,
): RedisIdempotencyStore {
  const {
    client,
    keyPrefix = 'eda:dedupe:',
    timeoutMs = 1000,
    coalesce = true,
    batchWindowMs = 0,
    maxBatchSize = 256,
    sendAt = 32,
    splitBatches = 1,
  } = options ?? ({} as RedisIdempotencyStoreOptions);
  if (
    !client ||
    typeof client.evalsha !== 'function' ||
    typeof client.eval !== 'function' ||
    typeof client.status !== 'string'
  ) {
    throw new ConfigurationError(
      `${ADAPTER} needs an ioredis client: pass { client: new Redis(url) } (or a Cluster). The store never closes it.`,
    );
  }
  if (typeof keyPrefix !== 'string' || /[{}]/.test(keyPrefix)) {
    throw new ConfigurationError(
      `${ADAPTER}: keyPrefix ${JSON.stringify(keyPrefix)} must be a string without "{" or "}": the store adds the consumer's hash tag itself.`,
    );
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new ConfigurationError(
      `${ADAPTER}: timeoutMs is ${timeoutMs}: use a positive number of milliseconds (for example 1000).`,
    );
  }
  if (!Number.isFinite(batchWindowMs) || batchWindowMs < 0 || batchWindowMs > 1000) {
    throw new ConfigurationError(
      `${ADAPTER}: batchWindowMs is ${batchWindowMs}: use 0 (end of the event-loop turn) to 1000 milliseconds.`,
    );
  }
  if (!Number.isSafeInteger(maxBatchSize) || maxBatchSize < 1 || maxBatchSize > 10_000) {
    throw new ConfigurationError(
      `${ADAPTER}: maxBatchSize is ${maxBatchSize}: use an integer from 1 to 10000.`,
    );
  }
  if (!Number.isSafeInteger(sendAt) || sendAt < 1) {
    throw new ConfigurationError(
      `${ADAPTER}: sendAt is ${sendAt}: use an integer >= 1 (calls gathered before sending early).`,
    );
  }
  if (!Number.isSafeInteger(splitBatches) || splitBatches < 1 || splitBatches > 64) {
    throw new ConfigurationError(
      `${ADAPTER}: splitBatches is ${splitBatches}: use an integer from 1 (one call per batch) to 64.`,
    );
  }

  const counters: Counters = {
    claimed: 0,
    duplicates: 0,
    inProgress: 0,
    stale: 0,
    completed: 0,
    completionsLost: 0,
    released: 0,
    lateClaimsReleased: 0,
    failures: 0,
    scriptCalls: 0,
  };

  const runner = createScriptRunner(client, timeoutMs);
  // Claims fail fast; completions and releases are patient (see run-script.ts).
  const call = (
    script: typeof CLAIM_SCRIPT,
    keys: readonly string[],
    args: readonly string[],
    onLateReply?: (reply: unknown) => void,
  ): Promise<unknown> => {
    counters.scriptCalls += 1;
    const sent =
      script === CLAIM_SCRIPT
        ? runner.run(script, keys, args, onLateReply)
        : runner.runPatient(script, keys, args);
    return sent.catch((error: unknown) => {
      counters.failures += keys.length;
      throw error;
    });
  };

  // A claim that Redis ran after the store gave up on it (its caller was told "unavailable"
  // and will not run the handler for it) holds its key under a token nobody will complete or
  // release. Left alone, every redelivery would find the key in progress until the lease ends,
  // which can outlast the retry budget. Its late answer says which keys it took: release them.
  // Safe: the release only acts while this very token holds the key.
  const releaseLateClaims = (keys: readonly string[], base: string, reply: unknown) => {
    if (!Array.isArray(reply)) return;
    reply.forEach((status: unknown, i) => {
      if (status !== 'c') return;
      runner.runPatient(RELEASE_SCRIPT, [keys[i]!], [`${base}:${i + 1}`]).then(
        (released) => {
          if (released === 1) counters.lateClaimsReleased += 1;
        },
        // The lease still ends the hold; the failure is counted like any other.
        () => {
          counters.failures += 1;
        },
      );
    });
  };

  // One script call claims the items of one consumer (one hash tag, so one cluster slot).
  const claimGroup = async (
    leaseMs: number,
    items: readonly ClaimItem[],
  ): Promise<ClaimResult[]> => {
    const base = randomUUID();
    const keys: string[] = new Array(items.length);
    let versioned = false;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      keys[i] = item.redisKey;
      if (item.version !== undefined) versioned = true;
    }
    const args: string[] = [String(leaseMs), base];
    if (versioned) {
      for (const item of items) args.push(item.version === undefined ? '' : String(item.version));
    }
    const reply = await call(CLAIM_SCRIPT, keys, args, (late) =>
      releaseLateClaims(keys, base, late),
    );
    if (!Array.isArray(reply) || reply.length !== items.length) {
      throw new RedisDedupeError(
        `Redis idempotency store: the claim script answered ${JSON.stringify(reply)} for ${items.length} keys.`,
      );
    }
    return reply.map((status: unknown, i): ClaimResult => {
      if (status === 'c') {
        counters.claimed += 1;
        return { status: 'claimed', token: `${base}:${i + 1}` };
      }
      if (status === 'p') {
        counters.inProgress += 1;
        return { status: 'in-progress' };
      }
      if (status === 'd') {
        counters.duplicates += 1;
        return { status: 'done' };
      }
      if (typeof status === 'string' && status.startsWith('s')) {
        counters.stale += 1;
        return { status: 'stale', appliedVersion: Number(status.slice(1)) };
      }
      throw new RedisDedupeError(
        `Redis idempotency store: the claim script answered ${JSON.stringify(status)} for "${items[i]?.key}".`,
      );
    });
  };

  const completeGroup = async (
    retentionMs: number,
    items: readonly CompleteItem[],
  ): Promise<boolean[]> => {
    const keys = items.map((item) => item.redisKey);
    const args: string[] = [String(retentionMs)];
    for (const item of items)
      args.push(item.token, item.version === undefined ? '' : String(item.version));
    const reply = await call(COMPLETE_SCRIPT, keys, args);
    if (!Array.isArray(reply) || reply.length !== items.length) {
      throw new RedisDedupeError(
        `Redis idempotency store: the complete script answered ${JSON.stringify(reply)} for ${items.length} keys.`,
      );
    }
    return reply.map((done: unknown) => {
      if (done === 1) counters.completed += 1;
      else counters.completionsLost += 1;
      return done === 1;
    });
  };

  // Group names carry the duration too: one script call has one lease (or retention) for all.
  const groupOf = (durationMs: number, tag: string) => `${durationMs}\u0000${tag}`;
  const durationOf = (group: string) => Number(group.slice(0, group.indexOf('\u0000')));

  // Claims and completions are gathered alike: a consumer's group is sent once sendAt calls
  // (at most maxBatchSize) are waiting, else at the end of the window.
  const coalescing = {
    maxBatchSize: Math.min(sendAt, maxBatchSize),
    windowMs: batchWindowMs,
    splitInto: splitBatches,
  };
  const claimCoalescer = createCoalescer<ClaimItem, ClaimResult>({
    ...coalescing,
    flush: (group, items) => claimGroup(durationOf(group), items),
  });
  const completeCoalescer = createCoalescer<CompleteItem, boolean>({
    ...coalescing,
    flush: (group, items) => completeGroup(durationOf(group), items),
  });

  const claim = async (key: string, claimOptions: ClaimOptions): Promise<ClaimResult> => {
    checkKey(key);
    const leaseMs = positiveInteger('leaseMs', claimOptions?.leaseMs, MAX_DURATION_MS);
    const version = checkVersion(claimOptions.version);
    const { key: redisKey, tag } = toRedisKey(keyPrefix, key);
    const item: ClaimItem = { key, redisKey, version };
    if (coalesce) return claimCoalescer.add(groupOf(leaseMs, tag), item);
    const [result] = await claimGroup(leaseMs, [item]);
    return result!;
  };

  const claimMany: RedisIdempotencyStore['claimMany'] = async (keys, manyOptions) => {
    const leaseMs = positiveInteger('leaseMs', manyOptions?.leaseMs, MAX_DURATION_MS);
    if (!Array.isArray(keys)) {
      throw new ConfigurationError('Redis idempotency store: claimMany needs an array of keys.');
    }
    for (const key of keys) checkKey(key);
    // The common case, one consumer's keys in one call, goes without the split below.
    if (keys.length > 0 && keys.length <= maxBatchSize) {
      const items: ClaimItem[] = [];
      const tag = toRedisKey(keyPrefix, keys[0]!).tag;
      for (const key of keys) {
        const redisKey = toRedisKey(keyPrefix, key);
        if (redisKey.tag !== tag) break;
        items.push({ key, redisKey: redisKey.key, version: undefined });
      }
      if (items.length === keys.length) return claimGroup(leaseMs, items);
    }
    // Split by hash tag (cluster slot) and by maxBatchSize; run the calls at once.
    const byTag = new Map<string, number[]>();
    keys.forEach((key, index) => {
      const tag = toRedisKey(keyPrefix, key).tag;
      const indexes = byTag.get(tag) ?? [];
      indexes.push(index);
      byTag.set(tag, indexes);
    });
    const results: ClaimResult[] = new Array(keys.length);
    const calls: Promise<void>[] = [];
    for (const indexes of byTag.values()) {
      for (let start = 0; start < indexes.length; start += maxBatchSize) {
        const chunk = indexes.slice(start, start + maxBatchSize);
        calls.push(
          claimGroup(
            leaseMs,
            chunk.map((index) => {
              const key = keys[index]!;
              return { key, redisKey: toRedisKey(keyPrefix, key).key, version: undefined };
            }),
          ).then((claimed) => {
            chunk.forEach((index, i) => {
              results[index] = claimed[i]!;
            });
          }),
        );
      }
    }
    await Promise.all(calls);
    return results;
  };

  const capabilities: IdempotencyCapabilities = {
    leases: true,
    versionGuard: true,
    retention: true,
    persistent: true,
  };

  return {
    capabilities,
    keyPrefix,
    claim,
    claimMany,

    async complete(key, token, completeOptions) {
      checkKey(key);
      if (typeof token !== 'string' || token.length === 0) {
        throw new ConfigurationError(
          'Redis idempotency store: complete needs the token that claim returned.',
        );
      }
      const retentionMs = positiveInteger(
        'retentionMs',
        completeOptions?.retentionMs,
        MAX_DURATION_MS,
      );
      const { key: redisKey, tag } = toRedisKey(keyPrefix, key);
      const item: CompleteItem = {
        redisKey,
        token,
        version: checkVersion(completeOptions.version),
      };
      if (coalesce) return completeCoalescer.add(groupOf(retentionMs, tag), item);
      const [done] = await completeGroup(retentionMs, [item]);
      return done!;
    },

    async release(key, token) {
      checkKey(key);
      if (typeof token !== 'string' || token.length === 0) {
        throw new ConfigurationError(
          'Redis idempotency store: release needs the token that claim returned.',
        );
      }
      const reply = await call(RELEASE_SCRIPT, [toRedisKey(keyPrefix, key).key], [token]);
      if (reply === 1) counters.released += 1;
      return reply === 1;
    },

    redisKeyOf: (dedupeKey) => toRedisKey(keyPrefix, checkKey(dedupeKey)).key,
    stats: () => ({ ...counters }),
  };
}
