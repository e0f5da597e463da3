// Every case of the event store contract, by id.
import { domainEvent, type RecordedEvent, StreamVersionConflictError } from '@eda/core';
import { expect } from 'vitest';
import { expectEdaError } from '../eda-error.js';
import { waitFor } from '../wait-for.js';
import type { EventStoreCase, EventStoreCaseContext } from './event-store-setup.js';

/** A global reader: follows `readAll` page by page from where it stopped, like a projection. */
function follower(context: EventStoreCaseContext, pageSize = 2) {
  const seen: RecordedEvent[] = [];
  let after: string | undefined;
  const readMore = async () => {
    for (;;) {
      const page = await context.store.readAll({
        ...(after === undefined ? {} : { after }),
        limit: pageSize,
      });
      if (page.length === 0) return;
      seen.push(...page);
      after = page[page.length - 1]!.position;
    }
  };
  return {
    seen,
    readMore,
    /** Reads on until `count` events of `streams` were seen; fails on no progress for idleMs. */
    async until(streams: readonly string[], count: number) {
      const mine = () => seen.filter((event) => streams.includes(event.stream));
      await waitFor(
        async () => {
          await readMore();
          return mine().length >= count;
        },
        {
          idleMs: context.idleMs,
          progress: () => seen.length,
          description: () =>
            `${count} events of ${streams.join(', ')} in readAll (seen: ${mine()
              .map((e) => `${e.stream}@${e.version}`)
              .join(', ')})`,
        },
      );
      return mine();
    },
  };
}

const label = (events: readonly RecordedEvent[]) => events.map((e) => `${e.stream}@${e.version}`);

const roundTripCase: EventStoreCase = {
  name: 'appends and reads round-trip: versions from 1, types, data, schema versions, fromVersion and limit',
  requires: [],
  async run(context) {
    const { store, Counted, Noted } = context;
    const stream = context.name('round-trip');
    expect(await store.streamVersion(stream), 'a stream that does not exist is at version 0').toBe(
      0,
    );
    expect(await store.readStream(stream)).toEqual([]);
    const held = await context.begin();
    const result = await store.append(held.transaction, stream, 0, [
      domainEvent(Counted, { n: 1 }),
      domainEvent(Noted, { note: 'héllo "quoted" \\ and emoji 🙂' }),
    ]);
    expect(result.version).toBe(2);
    const second = await store.append(held.transaction, stream, 2, [
      domainEvent(Counted, { n: 3 }),
    ]);
    expect(second.version, 'a second append in the same transaction goes on from the first').toBe(
      3,
    );
    await held.commit();
    const events = await store.readStream(stream);
    expect(events.map((e) => [e.version, e.type, e.schemaVersion, e.data])).toEqual([
      [1, Counted.type, 1, { n: 1 }],
      [2, Noted.type, 1, { note: 'héllo "quoted" \\ and emoji 🙂' }],
      [3, Counted.type, 1, { n: 3 }],
    ]);
    for (const event of events) {
      expect(event.stream).toBe(stream);
      expect(typeof event.position).toBe('string');
      expect(Number.isNaN(Date.parse(event.recordedAt)), 'recordedAt is a date').toBe(false);
    }
    expect(await store.streamVersion(stream)).toBe(3);
    expect((await store.readStream(stream, { fromVersion: 2 })).map((e) => e.version)).toEqual([
      2, 3,
    ]);
    expect((await store.readStream(stream, { limit: 2 })).map((e) => e.version)).toEqual([1, 2]);
  },
};

const readInTransactionCase: EventStoreCase = {
  name: 'a read through an open transaction sees its own appends; other readers see only committed events',
  requires: [],
  async run(context) {
    const { store, Counted } = context;
    const stream = context.name('read-in-transaction');
    await context.committer().commit(stream, 0, [domainEvent(Counted, { n: 1 })]);
    const held = await context.begin();
    const { transaction } = held;
    await store.append(transaction, stream, 1, [
      domainEvent(Counted, { n: 2 }),
      domainEvent(Counted, { n: 3 }),
    ]);
    const versions = async (options: { transaction?: unknown; fromVersion?: number } = {}) =>
      (await store.readStream(stream, options)).map((e) => e.version);
    expect(await versions({ transaction }), 'readStream in the transaction').toEqual([1, 2, 3]);
    expect(await versions({ transaction, fromVersion: 3 })).toEqual([3]);
    expect(await store.streamVersion(stream, { transaction }), 'streamVersion in it').toBe(3);
    expect(await versions(), 'readStream outside it, before the commit').toEqual([1]);
    expect(await store.streamVersion(stream), 'streamVersion outside it').toBe(1);
    // A decision made on what the transaction read appends at the version it read.
    const seen = await store.streamVersion(stream, { transaction });
    await store.append(transaction, stream, seen, [domainEvent(Counted, { n: 4 })]);
    await held.commit();
    expect(await versions(), 'after the commit').toEqual([1, 2, 3, 4]);
  },
};

const validationCase: EventStoreCase = {
  name: 'data its schema refuses is not appended (ValidationError), and the transaction stays usable',
  requires: [],
  async run(context) {
    const { store, Counted } = context;
    const stream = context.name('validation');
    const held = await context.begin();
    await expectEdaError(
      store.append(held.transaction, stream, 0, [
        domainEvent(Counted, { n: 1 }),
        domainEvent(Counted, { n: 1.5 }),
      ]),
      'EDA_VALIDATION',
      'append of data the schema refuses',
    );
    await store.append(held.transaction, stream, 0, [domainEvent(Counted, { n: 2 })]);
    await held.commit();
    expect((await store.readStream(stream)).map((e) => e.data)).toEqual([{ n: 2 }]);
  },
};

const staleVersionCase: EventStoreCase = {
  name: 'an append at another version than the stream has fails with StreamVersionConflictError naming the stream and versions',
  requires: [],
  async run(context) {
    const { store, Counted } = context;
    const stream = context.name('stale');
    await context
      .committer()
      .commit(stream, 0, [domainEvent(Counted, { n: 1 }), domainEvent(Counted, { n: 2 })]);
    for (const expected of [0, 1, 3]) {
      const held = await context.begin();
      const error = await expectEdaError(
        store.append(held.transaction, stream, expected, [domainEvent(Counted, { n: 9 })]),
        'EDA_VERSION_CONFLICT',
        `append at version ${expected} to a stream at version 2`,
      );
      expect(StreamVersionConflictError.isInstance(error)).toBe(true);
      const conflict = error as StreamVersionConflictError;
      expect([conflict.stream, conflict.expectedVersion, conflict.actualVersion]).toEqual([
        stream,
        expected,
        2,
      ]);
      expect(conflict.message).toContain(stream);
      await held.rollback();
    }
    expect((await store.readStream(stream)).map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }]);
  },
};

const concurrentAppendsCase: EventStoreCase = {
  name: 'of concurrent appends to one stream at one version, exactly one commits; the others conflict',
  requires: [],
  async run(context) {
    const { store, Counted } = context;
    const stream = context.name('race');
    await context.committer().commit(stream, 0, [domainEvent(Counted, { n: 0 })]);
    const writers = 6;
    const outcomes = await Promise.allSettled(
      Array.from({ length: writers }, async (_, i) => {
        const held = await context.begin();
        try {
          await store.append(held.transaction, stream, 1, [
            domainEvent(Counted, { n: i + 1 }),
            domainEvent(Counted, { n: 100 + i }),
          ]);
        } catch (error) {
          await held.rollback();
          throw error;
        }
        await held.commit();
      }),
    );
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
    expect(won.length, 'exactly one concurrent append commits').toBe(1);
    for (const reason of lost) {
      expect(
        StreamVersionConflictError.isInstance(reason),
        `a losing append fails with a version conflict, not ${String(reason)}`,
      ).toBe(true);
    }
    const events = await store.readStream(stream);
    expect(events.map((e) => e.version)).toEqual([1, 2, 3]);
    const winner = (events[1]!.data as { n: number }).n;
    expect(events[2]!.data, "both events of the winner, none of a loser's").toEqual({
      n: 99 + winner,
    });
    expect(await store.streamVersion(stream)).toBe(3);
  },
};

const rollbackCase: EventStoreCase = {
  name: 'a rolled-back append leaves nothing: no events, version 0, nothing in readAll, version 1 free again',
  requires: [],
  async run(context) {
    const { store, Counted } = context;
    const stream = context.name('rollback');
    const sentinel = context.name('sentinel');
    const held = await context.begin();
    await store.append(held.transaction, stream, 0, [domainEvent(Counted, { n: 1 })]);
    await held.rollback();
    expect(await store.readStream(stream)).toEqual([]);
    expect(await store.streamVersion(stream)).toBe(0);
    await context.committer().commit(sentinel, 0, [domainEvent(Counted, { n: 2 })]);
    const reader = follower(context);
    await reader.until([sentinel], 1);
    expect(
      label(reader.seen.filter((e) => e.stream === stream)),
      'rolled back events in readAll',
    ).toEqual([]);
    await context.committer().commit(stream, 0, [domainEvent(Counted, { n: 3 })]);
    expect((await store.readStream(stream)).map((e) => e.data)).toEqual([{ n: 3 }]);
  },
};

const lateCommitCase: EventStoreCase = {
  name: 'global order: a reader following positions never skips an event whose transaction commits late',
  requires: [],
  async run(context) {
    const { store, Counted } = context;
    const early = context.name('early');
    const late = context.name('late');
    const quick = context.name('quick');
    await context.committer().commit(early, 0, [domainEvent(Counted, { n: 0 })]);
    // `late` appends first and commits last; `quick` appends after it and commits at once.
    const held = await context.begin();
    await store.append(held.transaction, late, 0, [domainEvent(Counted, { n: 1 })]);
    await context.committer().commit(quick, 0, [domainEvent(Counted, { n: 2 })]);
    const reader = follower(context);
    await reader.until([early], 1);
    await reader.readMore();
    await held.commit();
    const seen = await reader.until([early, late, quick], 3);
    expect(label(seen).sort(), 'every committed event read once, none skipped').toEqual(
      [`${early}@1`, `${late}@1`, `${quick}@1`].sort(),
    );
    const positions = reader.seen.map((e) => e.position);
    expect(new Set(positions).size, 'no event read twice').toBe(positions.length);
  },
};

const streamOrderCase: EventStoreCase = {
  name: "global order keeps each stream's version order, also when the later version's transaction began first",
  requires: [],
  async run(context) {
    const { store, Counted } = context;
    const stream = context.name('ordered');
    const other = context.name('other');
    // The second writer's transaction writes (and so begins, for the database) before the first.
    const second = await context.begin();
    await store.append(second.transaction, other, 0, [domainEvent(Counted, { n: 0 })]);
    await context.committer().commit(stream, 0, [domainEvent(Counted, { n: 1 })]);
    await store.append(second.transaction, stream, 1, [domainEvent(Counted, { n: 2 })]);
    await second.commit();
    const reader = follower(context, 1);
    const seen = await reader.until([stream], 2);
    expect(label(seen)).toEqual([`${stream}@1`, `${stream}@2`]);
  },
};

const pagingCase: EventStoreCase = {
  name: 'readAll pages: each committed event exactly once, in one order that every read agrees on',
  requires: [],
  async run(context) {
    const { Counted } = context;
    const streams = [context.name('a'), context.name('b'), context.name('c')];
    for (let round = 0; round < 3; round++) {
      for (const stream of streams) {
        await context
          .committer()
          .commit(stream, round * 2, [
            domainEvent(Counted, { n: round * 2 + 1 }),
            domainEvent(Counted, { n: round * 2 + 2 }),
          ]);
      }
    }
    const byThree = follower(context, 3);
    const mine = await byThree.until(streams, 18);
    const whole = follower(context, 1000);
    const again = await whole.until(streams, 18);
    expect(label(mine), 'pages of 3 and one page of 1000 give one order').toEqual(label(again));
    for (const stream of streams) {
      expect(mine.filter((e) => e.stream === stream).map((e) => e.version)).toEqual([
        1, 2, 3, 4, 5, 6,
      ]);
    }
  },
};

const combinedCommitCase: EventStoreCase = {
  name: 'commit writes the domain events and their translated integration events (stream version as entity version) together',
  requires: [],
  async run(context) {
    const { store, Counted, Noted, CountPublished, service } = context;
    const stream = context.name('combined');
    const result = await context
      .committer()
      .commit(
        stream,
        0,
        [
          domainEvent(Counted, { n: 1 }),
          domainEvent(Noted, { note: 'internal' }),
          domainEvent(Counted, { n: 3 }),
        ],
        {
          publish: (event, publish) => {
            if (event.definition === Counted)
              publish(CountPublished, { n: (event.data as { n: number }).n });
          },
        },
      );
    expect(result.version).toBe(3);
    expect(result.published.map((m) => m.attributes.version)).toEqual([1, 3]);
    expect((await store.readStream(stream)).map((e) => e.type)).toEqual([
      Counted.type,
      Noted.type,
      Counted.type,
    ]);
    let outbox: Awaited<ReturnType<EventStoreCaseContext['takeOutbox']>> = [];
    await waitFor(
      async () => {
        outbox = [...outbox, ...(await context.takeOutbox())];
        return outbox.length >= 2;
      },
      { idleMs: context.idleMs, description: 'the two integration events in the outbox' },
    );
    expect(
      outbox.map((m) => [
        m.attributes.type,
        m.attributes.source,
        m.attributes.version,
        m.attributes.partitionkey,
      ]),
    ).toEqual([
      [CountPublished.type, service, 1, stream],
      [CountPublished.type, service, 3, stream],
    ]);
    expect(
      outbox.some((m) => m.attributes.type === Noted.type),
      'a domain event in the outbox',
    ).toBe(false);
  },
};

const bothOrNeitherCase: EventStoreCase = {
  name: 'commit writes both or neither: a failed outbox write, a throwing translation or a conflict leave no event and no integration event',
  requires: [],
  async run(context) {
    const { store, outbox, Counted, CountPublished } = context;
    const stream = context.name('atomic');
    const sentinel = context.name('sentinel');
    const translate = (
      event: { data: unknown },
      publish: (d: typeof CountPublished, data: { n: number }) => void,
    ) => publish(CountPublished, { n: (event.data as { n: number }).n });
    const failingOutbox = {
      ...outbox,
      add: async () => {
        throw new Error('outbox write failed');
      },
    };
    await expect(
      context
        .committer(failingOutbox)
        .commit(stream, 0, [domainEvent(Counted, { n: 1 })], { publish: translate }),
    ).rejects.toThrow('outbox write failed');
    await expect(
      context.committer().commit(stream, 0, [domainEvent(Counted, { n: 2 })], {
        publish: () => {
          throw new Error('translation failed');
        },
      }),
    ).rejects.toThrow('translation failed');
    // Inside the caller's transaction, rolled back by the caller after the commit succeeded.
    const held = await context.begin();
    await context.committer().commit(stream, 0, [domainEvent(Counted, { n: 3 })], {
      publish: translate,
      transaction: held.transaction,
    });
    await held.rollback();
    expect(await store.readStream(stream), 'events of failed commits').toEqual([]);
    await context
      .committer()
      .commit(stream, 0, [domainEvent(Counted, { n: 4 })], { publish: translate });
    await expectEdaError(
      context
        .committer()
        .commit(stream, 0, [domainEvent(Counted, { n: 5 })], { publish: translate }),
      'EDA_VERSION_CONFLICT',
      'a commit at a stale version',
    );
    await context
      .committer()
      .commit(sentinel, 0, [domainEvent(Counted, { n: 6 })], { publish: translate });
    let written: number[] = [];
    await waitFor(
      async () => {
        written = [
          ...written,
          ...(await context.takeOutbox()).map((m) =>
            m.attributes.partitionkey === stream || m.attributes.partitionkey === sentinel
              ? (JSON.parse(new TextDecoder().decode(m.body)) as { n: number }).n
              : -1,
          ),
        ];
        return written.includes(6);
      },
      { idleMs: context.idleMs, description: 'the sentinel integration event (n 6) in the outbox' },
    );
    expect(
      written.sort(),
      'integration events in the outbox: only those of the two commits that succeeded',
    ).toEqual([4, 6]);
    expect((await store.readStream(stream)).map((e) => e.data)).toEqual([{ n: 4 }]);
  },
};

/** The event store contract's cases, by id. */
export const eventStoreCases = {
  roundTrip: roundTripCase,
  readInTransaction: readInTransactionCase,
  validation: validationCase,
  staleVersion: staleVersionCase,
  concurrentAppends: concurrentAppendsCase,
  rollback: rollbackCase,
  lateCommit: lateCommitCase,
  streamOrder: streamOrderCase,
  paging: pagingCase,
  combinedCommit: combinedCommitCase,
  bothOrNeither: bothOrNeitherCase,
} as const satisfies Readonly<Record<string, EventStoreCase>>;

/** Id of an event store case. */
export type EventStoreCaseId = keyof typeof eventStoreCases;
