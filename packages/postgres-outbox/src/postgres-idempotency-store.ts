// Core's idempotency store contract on PostgreSQL: atomic claims through one upsert, leases,
// retention, fencing tokens and a version guard. For dedupe that commits with the handler's own
// writes, use the inbox middleware instead; this store suits handlers whose side effects are
// elsewhere but whose team already runs PostgreSQL.
import { randomUUID } from 'node:crypto';
import { ConfigurationError, type IdempotencyStore } from '@eda/core';
import type { ClaimOptions, ClaimResult } from '@eda/core/adapter';
import {
  IDEMPOTENCY_ADAPTER,
  type IdempotencyTableOptions,
  idempotencyTable,
} from './idempotency-schema.js';
import { watchPoolErrors } from './pool-errors.js';
import type { SqlClient } from './sql-client.js';
import { rethrowUnavailable } from './unavailable.js';

/** Options of `createPostgresIdempotencyStore`. */
export interface PostgresIdempotencyStoreOptions extends IdempotencyTableOptions {
  /** Runs each statement; usually a `pg.Pool`. The store never closes it. */
  readonly pool: SqlClient;
  /**
   * Told when PostgreSQL ends an idle connection of `pool` (a restart, a failover,
   * `pg_terminate_backend`). A `pg.Pool` gets one shared 'error' listener from this package, so
   * this never ends the process. @default a console warning
   */
  readonly onError?: (error: unknown) => void;
}

/** The PostgreSQL idempotency store, with a purge of expired keys. */
export interface PostgresIdempotencyStore extends IdempotencyStore {
  /** `"schema"."table"` of the store. */
  readonly table: string;
  /** Claims several keys (without a version); results in input order, as `claim` per key. */
  claimMany(keys: readonly string[], options: { readonly leaseMs: number }): Promise<ClaimResult[]>;
  /** Deletes up to `limit` keys whose retention or lease has ended; returns how many. */
  purge(options: { readonly limit: number }): Promise<number>;
}

// A row counts as absent when it expired and holds nothing worth keeping (no applied version,
// or a completed key whose retention ended).
const ABSENT = `(t.expires_at <= now() and (t.applied_version is null or t.state = 'done'))`;

/**
 * Creates the store. Create its table first with `ensureIdempotencySchema`.
 *
 * Guarantees: of concurrent claims of one free key exactly one gets `claimed` (the row lock of
 * the upsert decides); a completed key answers `done` until its retention ends; a version claim
 * not newer than the applied version answers `stale`. `complete` records the completion even
 * after the lease expired, as long as no other claim took the key over (then it returns false
 * and changes nothing).
 * @throws ConfigurationError for an invalid table name or a missing pool; each call throws
 * UnavailableError when PostgreSQL cannot be reached.
 */
export function createPostgresIdempotencyStore(
  options: PostgresIdempotencyStoreOptions,
): PostgresIdempotencyStore {
  const { pool } = options;
  if (!pool || typeof pool.query !== 'function') {
    throw new ConfigurationError(
      `${IDEMPOTENCY_ADAPTER}: createPostgresIdempotencyStore needs a pool (a pg.Pool, or anything with pg's query method).`,
    );
  }
  watchPoolErrors(pool, options.onError);
  const table = idempotencyTable(options).qualified;

  const claimSql = `insert into ${table} as t (key, state, token, expires_at, applied_version)
values ($1, 'in-progress', $2, now() + $3 * interval '1 millisecond', null)
on conflict (key) do update
set state = 'in-progress', token = excluded.token, expires_at = excluded.expires_at,
    applied_version = case when ${ABSENT} then null else t.applied_version end
where ${ABSENT}
   or (not ($4::bigint is not null and t.applied_version is not null and $4::bigint <= t.applied_version)
       and not (t.state = 'in-progress' and t.expires_at > now())
       and not (t.state = 'done' and $4::bigint is null))
returning token`;
  const readSql = `select t.state, t.expires_at > now() as live, t.applied_version::text as applied,
  ${ABSENT} as absent from ${table} t where t.key = $1`;
  // A completion is recorded unless another claim took the key over: the row still holds this
  // claim's token (even past its lease: a slow handler that nobody replaced), or the row is gone
  // (it expired and was purged). Only a row holding another token means a real takeover; the
  // upsert's row lock makes this exact against a concurrent claim.
  const completeSql = `insert into ${table} as t (key, state, token, expires_at, applied_version)
values ($1, 'done', $2, now() + $3 * interval '1 millisecond', $4::bigint)
on conflict (key) do update
set state = 'done', expires_at = excluded.expires_at,
    applied_version = case when $4::bigint is null then t.applied_version
                           else greatest($4::bigint, coalesce(t.applied_version, $4::bigint)) end
where t.token = $2
returning 1`;
  const releaseDeleteSql = `delete from ${table}
where key = $1 and token = $2 and state = 'in-progress' and expires_at > now() and applied_version is null`;
  const releaseFreeSql = `update ${table} set state = 'free'
where key = $1 and token = $2 and state = 'in-progress' and expires_at > now() and applied_version is not null`;
  const purgeSql = `delete from ${table} where key in (
  select t.key from ${table} t where ${ABSENT} limit $1)`;

  const run = async (what: string, sql: string, values: unknown[]) => {
    try {
      return await pool.query(sql, values);
    } catch (error) {
      return rethrowUnavailable(IDEMPOTENCY_ADAPTER, what, error);
    }
  };

  const checkLease = (leaseMs: number) => {
    if (!Number.isFinite(leaseMs) || leaseMs <= 0) {
      throw new ConfigurationError(
        `${IDEMPOTENCY_ADAPTER}: leaseMs is ${leaseMs}: use a positive number.`,
      );
    }
    return Math.ceil(leaseMs);
  };

  const claim = async (key: string, { leaseMs, version }: ClaimOptions): Promise<ClaimResult> => {
    const lease = checkLease(leaseMs);
    const versionValue = version === undefined ? null : version;
    // Two tries: the row may change between the upsert that lost and the read that explains why.
    for (let tryIndex = 0; tryIndex < 2; tryIndex++) {
      const token = randomUUID();
      const claimed = await run('a claim', claimSql, [key, token, lease, versionValue]);
      if (claimed.rowCount === 1) return { status: 'claimed', token };
      const read = await run('a claim', readSql, [key]);
      const row = read.rows[0] as
        | { state: string; live: boolean; applied: string | null; absent: boolean }
        | undefined;
      if (!row || row.absent) continue;
      if (version !== undefined && row.applied !== null && version <= Number(row.applied)) {
        return { status: 'stale', appliedVersion: Number(row.applied) };
      }
      if (row.state === 'in-progress' && row.live) return { status: 'in-progress' };
      if (row.state === 'done' && row.live && version === undefined) return { status: 'done' };
    }
    return { status: 'in-progress' };
  };

  return {
    capabilities: { leases: true, versionGuard: true, retention: true, persistent: true },
    table,
    claim,
    async claimMany(keys, claimOptions) {
      const results: ClaimResult[] = [];
      for (const key of keys) results.push(await claim(key, { leaseMs: claimOptions.leaseMs }));
      return results;
    },
    async complete(key, token, { retentionMs, version }) {
      if (!Number.isFinite(retentionMs) || retentionMs < 0) {
        throw new ConfigurationError(
          `${IDEMPOTENCY_ADAPTER}: retentionMs is ${retentionMs}: use a number >= 0.`,
        );
      }
      const result = await run('a completion', completeSql, [
        key,
        token,
        Math.ceil(retentionMs),
        version === undefined ? null : version,
      ]);
      return result.rowCount === 1;
    },
    async release(key, token) {
      const deleted = await run('a release', releaseDeleteSql, [key, token]);
      if (deleted.rowCount === 1) return true;
      const freed = await run('a release', releaseFreeSql, [key, token]);
      return freed.rowCount === 1;
    },
    async purge({ limit }) {
      if (!Number.isSafeInteger(limit) || limit <= 0) {
        throw new ConfigurationError(
          `${IDEMPOTENCY_ADAPTER}: purge limit is ${limit}: use a positive integer.`,
        );
      }
      const result = await run('a purge', purgeSql, [limit]);
      return result.rowCount ?? 0;
    },
  };
}
