// pg against PostgreSQL: a unique schema per test, and the backend-termination hook.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupServices, terminatePostgresBackends, usePostgresSchema } from '../src/index.js';

afterEach(cleanupServices);

describe('PostgreSQL with pg', () => {
  it('runs queries in a unique schema, which cleanup drops', async () => {
    const schema = await usePostgresSchema();
    const client = new pg.Client(schema.clientConfig());
    await client.connect();
    try {
      await client.query('create table outbox (id serial primary key, body jsonb not null)');
      await client.query('insert into outbox (body) values ($1), ($2)', [{ n: 1 }, { n: 2 }]);
      const { rows } = await client.query<{ n: number }>(
        "select (body->>'n')::int as n from outbox order by id",
      );
      expect(rows.map((r) => r.n)).toEqual([1, 2]);
      const where = await client.query<{ table_schema: string }>(
        "select table_schema from information_schema.tables where table_name = 'outbox' and table_schema = $1",
        [schema.name],
      );
      expect(where.rows).toEqual([{ table_schema: schema.name }]);
    } finally {
      await client.end();
    }

    await schema.cleanup();
    const check = new pg.Client({ connectionString: schema.url });
    await check.connect();
    try {
      const { rowCount } = await check.query('select 1 from pg_namespace where nspname = $1', [
        schema.name,
      ]);
      expect(rowCount).toBe(0);
    } finally {
      await check.end();
    }
  });

  it('terminatePostgresBackends ends the app connections only; new connections work', async () => {
    const schema = await usePostgresSchema();
    const app = new pg.Client(schema.clientConfig('eda-test-victim'));
    const bystander = new pg.Client(schema.clientConfig('eda-test-bystander'));
    await app.connect();
    await bystander.connect();
    // The client reports the termination, then the closed socket: keep the first, swallow the rest.
    const appError = new Promise<Error>((resolve) => app.on('error', resolve));
    try {
      expect(await terminatePostgresBackends({ applicationName: 'eda-test-victim' })).toBe(1);
      expect((await appError).message).toMatch(/terminat/);
      await expect(app.query('select 1')).rejects.toThrow();
      expect((await bystander.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await app.end().catch(() => {});
      await bystander.end();
    }
    const again = new pg.Client(schema.clientConfig('eda-test-victim'));
    await again.connect();
    expect((await again.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    await again.end();
  });
});
