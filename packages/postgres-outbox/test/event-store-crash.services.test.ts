// Crash test of the combined commit on real PostgreSQL: a child process that appends domain
// events and writes their translated integration events to the outbox is killed with SIGKILL at
// random moments, again and again. Afterwards every stream is gap-free, and each stream version
// has exactly its integration events in the outbox: none missing, none extra, none duplicated.
import { cleanupServices } from '@eda/test-services';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureEventStoreSchema } from '../src/index.js';
import { killFixtureChildren, startFixtureChild } from './fixture-child.js';
import { partsOf } from './fixtures/event-store-crash-plan.js';
import { type TestDatabase, until, useDatabase } from './helpers.js';

let db: TestDatabase | undefined;

afterEach(async () => {
  killFixtureChildren();
  await db?.close();
  db = undefined;
  await cleanupServices();
});

const KILLS = 8;
const STREAMS = 4;

describe('event store writer killed with SIGKILL', () => {
  it(`after ${KILLS} kills at random moments, every stream version has exactly its integration events in the outbox`, async () => {
    db = await useDatabase('es_crash');
    const pool = db.pool('eda-event-store-crash-check');
    await ensureEventStoreSchema(pool, { schema: db.schema.name });
    const committedAt: number[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const { child, output, errors } = startFixtureChild('event-store-writer-child.ts', {
        EDA_TEST_SCHEMA: db.schema.name,
        EDA_STREAMS: String(STREAMS),
      });
      // Let it commit for a while (it reports every 10 commits), then kill it at a random moment
      // within the next 300 ms: mid-statement, mid-translation or between BEGIN and COMMIT.
      await until(
        () => output().includes('commits 10') || child.exitCode !== null,
        'the writer to commit 10 times',
        60_000,
      );
      expect(errors(), 'the writer failed on its own').toBe('');
      expect(child.exitCode, 'the writer is still running before the kill').toBe(null);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 300));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      const { rows } = await pool.query(
        `select count(*)::int as n from ${db.schema.name}.eda_events`,
      );
      committedAt.push(rows[0].n);
    }
    expect(committedAt.at(-1), 'events were written across the kills').toBeGreaterThan(KILLS * 10);

    const events = await pool.query(
      `select stream, version from ${db.schema.name}.eda_events order by stream, version`,
    );
    const versions = new Map<string, number[]>();
    for (const row of events.rows) {
      const list = versions.get(row.stream) ?? [];
      list.push(row.version);
      versions.set(row.stream, list);
    }
    const outbox = await pool.query(
      `select aggregateid, (headers->>'version')::int as version, convert_from(payload, 'UTF8')::jsonb as data
       from ${db.schema.name}.eda_outbox`,
    );
    const found = new Map<string, number>();
    for (const row of outbox.rows) {
      expect(row.data.stream, 'the partition key is the stream').toBe(row.aggregateid);
      expect(row.data.version, 'the entity version is the stream version').toBe(row.version);
      const key = `${row.aggregateid}@${row.version}#${row.data.part}`;
      found.set(key, (found.get(key) ?? 0) + 1);
    }
    const expected = new Map<string, number>();
    for (const [stream, list] of versions) {
      expect(list, `${stream} has versions 1..n without a gap`).toEqual(list.map((_, i) => i + 1));
      for (const version of list)
        for (let part = 0; part < partsOf(version); part++)
          expected.set(`${stream}@${version}#${part}`, 1);
    }
    const missing = [...expected.keys()].filter((key) => !found.has(key));
    const extra = [...found.keys()].filter((key) => !expected.has(key));
    const doubled = [...found].filter(([, count]) => count > 1).map(([key]) => key);
    expect({ missing, extra, doubled }).toEqual({ missing: [], extra: [], doubled: [] });
    expect(outbox.rows.length).toBe(expected.size);
  });
});
