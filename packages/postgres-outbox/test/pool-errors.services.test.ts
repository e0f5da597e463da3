// PostgreSQL ends the connections of a relay built exactly as the README shows (no
// pool.on('error') of its own): the process must stay alive and keep relaying.
import type { ChildProcess } from 'node:child_process';
import type { OutgoingMessage } from '@eda/core';
import { cleanupServices, terminatePostgresBackends } from '@eda/test-services';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresOutboxStore, withTransaction } from '../src/index.js';
import { killFixtureChildren, startFixtureChild } from './fixture-child.js';
import { type TestDatabase, useDatabase } from './helpers.js';

let db: TestDatabase | undefined;

afterEach(async () => {
  killFixtureChildren();
  await db?.close();
  db = undefined;
  await cleanupServices();
});

function message(id: string): OutgoingMessage {
  return {
    attributes: {
      id,
      type: 'order.placed',
      source: 'orders',
      specversion: '1.0',
      kind: 'event',
      partitionkey: id,
    },
    body: Buffer.from(JSON.stringify({ id })),
  };
}

/**
 * Waits until `condition` holds over the child's output, failing when the child exits first or
 * when nothing new arrives for `idleMs` (progress-based, so a loaded machine only slows it).
 */
function untilOutput(
  child: ChildProcess,
  read: () => string,
  condition: (output: string) => boolean,
  what: string,
  idleMs = 30_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let lastLength = -1;
    let lastProgress = Date.now();
    const tick = () => {
      const output = read();
      if (condition(output)) return resolve();
      if (child.exitCode !== null || child.signalCode !== null)
        return reject(
          new Error(
            `The relay process exited (code ${child.exitCode}, signal ${child.signalCode}) before ${what}. Output:\n${output}`,
          ),
        );
      if (output.length !== lastLength) {
        lastLength = output.length;
        lastProgress = Date.now();
      }
      if (Date.now() - lastProgress > idleMs)
        return reject(
          new Error(`No progress for ${idleMs} ms waiting for ${what}. Output:\n${output}`),
        );
      setTimeout(tick, 20);
    };
    tick();
  });
}

describe('pool connections ended by PostgreSQL', () => {
  it('a relay set up as the README shows survives pg_terminate_backend of all its connections and keeps relaying', async () => {
    db = await useDatabase('readme_relay');
    const pool = db.pool();
    const store = createPostgresOutboxStore({ pool, schema: db.schema.name, notifications: false });
    const write = (id: string) =>
      withTransaction(pool, (client) => store.add(client, [message(id)]));
    const applicationName = `eda-readme-relay-${process.pid}-${Date.now()}`;
    const url = new URL(db.schema.url);
    url.searchParams.set('application_name', applicationName);
    url.searchParams.set('options', `-c search_path=${db.schema.name}`);

    const { child, output, errors } = startFixtureChild('readme-relay-child.ts', {
      EDA_TEST_SCHEMA: db.schema.name,
      DATABASE_URL: url.toString(),
    });
    const read = () => output() + errors();

    await write('before');
    await untilOutput(child, read, (o) => o.includes('published before'), 'the first record');
    // Its pool holds idle connections and the LISTEN connection: end them all, twice.
    for (const round of [1, 2]) {
      const ended = await terminatePostgresBackends({ applicationName });
      expect(ended, `connections of the relay ended in round ${round}`).toBeGreaterThan(0);
      await write(`after-${round}`);
      await untilOutput(
        child,
        read,
        (o) => o.includes(`published after-${round}`),
        `the record written after round ${round} of terminations`,
      );
    }
    expect(child.exitCode, 'the relay process is still running').toBeNull();
    expect(errors()).not.toMatch(/Unhandled 'error' event/);
    // What happened was said (a console warning: the README passes no onError).
    await untilOutput(
      child,
      read,
      (o) => /pooled PostgreSQL connection failed/.test(o),
      'the warning',
    );
  });
});
