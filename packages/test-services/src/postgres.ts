// PostgreSQL for tests: unique schemas, dropped afterwards.
import pg from 'pg';
import { type Cleanable, registerCleanup } from './cleanup.js';
import { endpoints } from './endpoints.js';
import { uniqueName } from './unique-name.js';

/** A schema made for one test; cleanup drops it with everything in it. */
export interface PostgresSchema extends Cleanable {
  /** The schema's unique name (safe to put in SQL unquoted). */
  readonly name: string;
  /** `EDA_POSTGRES_URL`. */
  readonly url: string;
  /**
   * Settings for a `pg.Client` or `pg.Pool` whose `search_path` is this schema, so unqualified
   * table names land in it.
   *
   * @param applicationName - the connection's `application_name`, which
   *   `terminatePostgresBackends` matches. @default 'eda-test'
   */
  clientConfig(applicationName?: string): pg.ClientConfig;
}

/**
 * Creates a unique schema in the test database.
 *
 * @example
 * afterEach(cleanupServices);
 * const schema = await usePostgresSchema();
 * const client = new pg.Client(schema.clientConfig());
 * @throws Error when the database does not answer or the schema cannot be created.
 */
export async function usePostgresSchema(label = 'schema'): Promise<PostgresSchema> {
  const name = uniqueName(label, '_');
  const url = endpoints.postgresUrl;
  await adminQuery(`create schema ${name}`);
  const cleanable = registerCleanup(() => adminQuery(`drop schema if exists ${name} cascade`));
  return {
    name,
    url,
    clientConfig(applicationName = 'eda-test') {
      return {
        connectionString: url,
        application_name: applicationName,
        options: `-c search_path=${name}`,
      };
    },
    cleanup: cleanable.cleanup,
  };
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({
    connectionString: endpoints.postgresUrl,
    application_name: 'eda-test-services-admin',
  });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
