// Runs schema DDL under an advisory lock, so several processes that call ensureSchema at start-up
// at the same moment do not race on CREATE ... IF NOT EXISTS (which is not concurrency-safe).
import { queryLast, type SqlClient } from './sql-client.js';

/** First key of every advisory lock this package takes ('EDA' in ASCII), to stay out of users' keys. */
export const LOCK_NAMESPACE = 0x454441;

/** The two-part key of the advisory lock for `purpose` on the object named `qualified`. */
export function advisoryLockKey(qualified: string, purpose: string): string {
  return `${LOCK_NAMESPACE}, hashtext('${purpose}:${qualified.replaceAll("'", "''")}')`;
}

/** An advisory-lock call for the object named `qualified` (a validated, quoted name). */
export function advisoryLock(qualified: string, purpose: string): string {
  return `select pg_advisory_xact_lock(${advisoryLockKey(qualified, purpose)})`;
}

/** Runs `ddl` in one transaction holding the DDL lock of `qualified`. */
export async function runDdl(client: SqlClient, qualified: string, ddl: string): Promise<void> {
  await queryLast(client, `begin;\n${advisoryLock(qualified, 'ddl')};\n${ddl}\ncommit;`);
}
