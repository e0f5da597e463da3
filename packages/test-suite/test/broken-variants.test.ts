// Proof that the suites can fail: each deliberately broken variant of an in-memory
// implementation is run through the cases that must catch it, and each of those cases must
// reject. Each catching case also passes on the unbroken implementation, so the failure is
// the variant's doing.
import { describe, expect, it } from 'vitest';
import {
  type EventStoreCase,
  type EventStoreContractSetup,
  eventStoreCases,
  type IdempotencyCase,
  type IdempotencyContractSetup,
  idempotencyStoreCases,
  type MonitorStoreCase,
  type MonitorStoreContractSetup,
  monitorStoreCases,
  type OutboxCase,
  type OutboxContractSetup,
  outboxStoreCases,
  type PayloadCase,
  type PayloadContractSetup,
  payloadStoreCases,
  runEventStoreCase,
  runIdempotencyStoreCase,
  runMonitorStoreCase,
  runOutboxStoreCase,
  runPayloadStoreCase,
  runTransportCase,
  type TransportCase,
  type TransportContractSetup,
  transportCases,
} from '../src/index.js';
import { ackingTransport } from './broken/acking-transport.js';
import {
  broadcastingDeadLetterAdmin,
  forgetfulDeadLetterAdmin,
} from './broken/careless-dead-letter-admin.js';
import { cursorOutboxStore } from './broken/cursor-outbox-store.js';
import { deferralCountingTransport } from './broken/deferral-counting-transport.js';
import { detouringTransport } from './broken/detouring-transport.js';
import { droppingTransport } from './broken/dropping-transport.js';
import { expiringIdempotencyStore } from './broken/expiring-idempotency-store.js';
import { forgetfulCloseTransport } from './broken/forgetful-close-transport.js';
import { lostUpdateMonitorStore } from './broken/lost-update-monitor-store.js';
import { outsideReadsEventStore } from './broken/outside-reads-event-store.js';
import { racyIdempotencyStore } from './broken/racy-idempotency-store.js';
import { redeliveringTransport } from './broken/redelivering-transport.js';
import { reorderingTransport } from './broken/reordering-transport.js';
import { retryingEventStore } from './broken/retrying-event-store.js';
import { tamperingPayloadStore, unverifiedPayloadStore } from './broken/tampering-payload-store.js';
import { transactionOrderOutboxStore } from './broken/transaction-order-outbox-store.js';
import { unfencedEventStore } from './broken/unfenced-event-store.js';
import { unfencedOutboxStore } from './broken/unfenced-outbox-store.js';
import {
  MEMORY_IDLE_MS,
  memoryEventStoreSetup,
  memoryIdempotencySetup,
  memoryMonitorStoreSetup,
  memoryOutboxSetup,
  memoryPayloadSetup,
  memoryTransportSetup,
} from './memory-setups.js';

/** A case that must catch a variant, and what its failure message must mention. */
interface Catch<TCase> {
  readonly id: string;
  readonly testCase: TCase;
  readonly failure: RegExp;
}

function describeVariant<TCase extends { name: string }, TSetup>(
  variant: string,
  broken: TSetup,
  healthy: TSetup,
  run: (testCase: TCase, setup: TSetup) => Promise<void>,
  catches: readonly Catch<TCase>[],
) {
  describe(variant, () => {
    for (const { id, testCase, failure } of catches) {
      it(`is caught by ${id}`, async () => {
        await expect(run(testCase, broken)).rejects.toThrow(failure);
      });
      it(`${id} passes on the unbroken implementation`, async () => {
        await expect(run(testCase, healthy)).resolves.toBeUndefined();
      });
    }
  });
}

const healthyTransport = memoryTransportSetup();
const transportVariant = (
  variant: string,
  wrap: Parameters<typeof memoryTransportSetup>[0],
  catches: readonly Catch<TransportCase>[],
) =>
  describeVariant<TransportCase, TransportContractSetup>(
    variant,
    memoryTransportSetup(wrap),
    healthyTransport,
    runTransportCase,
    catches,
  );

describe('broken dead-letter admins', () => {
  const adminVariant = (
    variant: string,
    admin: Parameters<typeof memoryTransportSetup>[1],
    catches: readonly Catch<TransportCase>[],
  ) =>
    describeVariant<TransportCase, TransportContractSetup>(
      variant,
      memoryTransportSetup(undefined, admin),
      healthyTransport,
      runTransportCase,
      catches,
    );
  adminVariant('redrives to the whole topic', broadcastingDeadLetterAdmin, [
    {
      id: 'eventRedrive',
      testCase: transportCases.eventRedrive,
      failure: /the bystander saw it once/,
    },
  ]);
  adminVariant('keeps redriven dead letters', forgetfulDeadLetterAdmin, [
    { id: 'eventRedrive', testCase: transportCases.eventRedrive, failure: /again/ },
    { id: 'commandRedrive', testCase: transportCases.commandRedrive, failure: /again/ },
  ]);
});

describe('broken transports', () => {
  transportVariant('drops one message in a thousand', droppingTransport, [
    {
      id: 'eventManyMessages',
      testCase: transportCases.eventManyMessages,
      failure: /all 1000 messages \(1 missing, such as 499\)/,
    },
    {
      id: 'commandManyMessages',
      testCase: transportCases.commandManyMessages,
      failure: /all 1000 messages \(1 missing, such as 499\)/,
    },
  ]);
  transportVariant('redelivers one acknowledged message in a hundred', redeliveringTransport, [
    {
      id: 'eventManyMessages',
      testCase: transportCases.eventManyMessages,
      failure: /every message exactly once/,
    },
    {
      id: 'commandManyMessages',
      testCase: transportCases.commandManyMessages,
      failure: /every message exactly once/,
    },
  ]);
  transportVariant('breaks per-key order', reorderingTransport, [
    {
      id: 'eventPerKeyOrder',
      testCase: transportCases.eventPerKeyOrder,
      failure: /each key's sequence as handled/,
    },
  ]);
  transportVariant(
    'detours retries around the partition (later messages overtake them)',
    detouringTransport,
    [
      {
        id: 'eventPerKeyOrder',
        testCase: transportCases.eventPerKeyOrder,
        failure: /each key's sequence as handled/,
      },
    ],
  );
  transportVariant(
    'loses the last settlement when a subscription closes',
    forgetfulCloseTransport,
    [
      {
        id: 'eventCloseAndReopen',
        testCase: transportCases.eventCloseAndReopen,
        failure: /across the close and reopen: every message exactly once/,
      },
      {
        id: 'commandCloseAndReopen',
        testCase: transportCases.commandCloseAndReopen,
        failure: /across the close and reopen: every message exactly once/,
      },
    ],
  );
  transportVariant('counts deferred retries as deliveries', deferralCountingTransport, [
    {
      id: 'eventDeferredRetry',
      testCase: transportCases.eventDeferredRetry,
      failure: /a deferred wait keeps the attempt/,
    },
    {
      id: 'commandDeferredRetry',
      testCase: transportCases.commandDeferredRetry,
      failure: /a deferred wait keeps the attempt/,
    },
  ]);
  transportVariant(
    'acks a message whose handler threw (retry and dead-letter become ack)',
    ackingTransport,
    [
      {
        id: 'eventRedelivery',
        testCase: transportCases.eventRedelivery,
        failure: /the message to succeed \(handler called 1 times\)/,
      },
      {
        id: 'commandRedelivery',
        testCase: transportCases.commandRedelivery,
        failure: /the message to succeed \(handler called 1 times\)/,
      },
      {
        id: 'eventDeliveryCount',
        testCase: transportCases.eventDeliveryCount,
        failure: /attempt 3 \(seen 1\)/,
      },
      { id: 'eventPoison', testCase: transportCases.eventPoison, failure: /1 dead letter\(s\)/ },
      {
        id: 'commandPoison',
        testCase: transportCases.commandPoison,
        failure: /1 dead letter\(s\)/,
      },
      {
        id: 'eventUndecodable',
        testCase: transportCases.eventUndecodable,
        failure: /dead letter\(s\)/,
      },
    ],
  );
});

describe('broken outbox store', () => {
  describeVariant<OutboxCase, OutboxContractSetup<unknown>>(
    'loses rows committed out of order (a cursor over the sequence, no fence)',
    memoryOutboxSetup(cursorOutboxStore) as OutboxContractSetup<unknown>,
    memoryOutboxSetup() as OutboxContractSetup<unknown>,
    runOutboxStoreCase,
    [
      {
        id: 'lateCommit',
        testCase: outboxStoreCases.lateCommit,
        failure: /the late-committed record/,
      },
      {
        id: 'outOfOrderCommits',
        testCase: outboxStoreCases.outOfOrderCommits,
        failure: /claimed while the first transaction is open/,
      },
      {
        id: 'concurrentRelays',
        testCase: outboxStoreCases.concurrentRelays,
        failure: /200 records \(have 1\d\d\)/,
      },
    ],
  );
  describeVariant<OutboxCase, OutboxContractSetup<unknown>>(
    'orders each aggregate by transaction (the order writers began in), not by write order',
    memoryOutboxSetup(transactionOrderOutboxStore) as OutboxContractSetup<unknown>,
    memoryOutboxSetup() as OutboxContractSetup<unknown>,
    runOutboxStoreCase,
    [
      {
        id: 'conflictingWritersInWriteOrder',
        testCase: outboxStoreCases.conflictingWritersInWriteOrder,
        failure: /order-x in write order .*expected \[ 2, 1 \] to deeply equal \[ 1, 2 \]/,
      },
    ],
  );
  describeVariant<OutboxCase, OutboxContractSetup<unknown>>(
    'settles records from a claim that was taken over (no lease identity)',
    memoryOutboxSetup(unfencedOutboxStore) as OutboxContractSetup<unknown>,
    memoryOutboxSetup() as OutboxContractSetup<unknown>,
    runOutboxStoreCase,
    [
      {
        id: 'staleSettlementAfterTakeover',
        testCase: outboxStoreCases.staleSettlementAfterTakeover,
        failure:
          /a late settlement of a taken-over claim: expected undefined to be 'EDA_UNAVAILABLE'/,
      },
    ],
  );
});

describe('broken idempotency store', () => {
  const racy: IdempotencyContractSetup = {
    ...memoryIdempotencySetup(),
    createEnvironment: async () => ({ store: racyIdempotencyStore(), async cleanup() {} }),
  };
  describeVariant<IdempotencyCase, IdempotencyContractSetup>(
    'claims with check-then-set across an await (not atomic)',
    racy,
    memoryIdempotencySetup(),
    runIdempotencyStoreCase,
    [{ id: 'parallelClaims', testCase: idempotencyStoreCases.parallelClaims, failure: /winners/ }],
  );
  const expiring: IdempotencyContractSetup = {
    ...memoryIdempotencySetup(),
    createEnvironment: async () => ({ store: expiringIdempotencyStore(), async cleanup() {} }),
  };
  describeVariant<IdempotencyCase, IdempotencyContractSetup>(
    'discards a completion that arrives after its lease expired, although nobody took over',
    expiring,
    memoryIdempotencySetup(),
    runIdempotencyStoreCase,
    [
      {
        id: 'lateCompletion',
        testCase: idempotencyStoreCases.lateCompletion,
        failure: /nobody else having claimed the key/,
      },
      {
        id: 'lateVersionCompletion',
        testCase: idempotencyStoreCases.lateVersionCompletion,
        failure: /nobody else having claimed the key/,
      },
    ],
  );
});

describe('broken payload stores', () => {
  describeVariant<PayloadCase, PayloadContractSetup>(
    'returns bytes with one byte flipped after verification',
    memoryPayloadSetup(tamperingPayloadStore),
    memoryPayloadSetup(),
    runPayloadStoreCase,
    [
      {
        id: 'smallRoundTrip',
        testCase: payloadStoreCases.smallRoundTrip,
        failure: /a small payload: byte \d+ is/,
      },
      {
        id: 'binaryExact',
        testCase: payloadStoreCases.binaryExact,
        failure: /binary payload: byte \d+ is/,
      },
    ],
  );
  describeVariant<PayloadCase, PayloadContractSetup>(
    'skips size and sha256 verification',
    memoryPayloadSetup(unverifiedPayloadStore),
    memoryPayloadSetup(),
    runPayloadStoreCase,
    [
      {
        id: 'altered',
        testCase: payloadStoreCases.altered,
        failure: /expected EDA_PAYLOAD_INTEGRITY, but it succeeded/,
      },
    ],
  );
});

it('the in-memory setups wait at most a short idle time, so failing cases stay quick', () => {
  expect(MEMORY_IDLE_MS).toBeLessThanOrEqual(1000);
});

describe('broken event stores', () => {
  const variant = (
    name: string,
    wrap: Parameters<typeof memoryEventStoreSetup>[0],
    catches: readonly Catch<EventStoreCase>[],
  ) =>
    describeVariant<EventStoreCase, EventStoreContractSetup<unknown>>(
      name,
      memoryEventStoreSetup(wrap) as EventStoreContractSetup<unknown>,
      memoryEventStoreSetup() as EventStoreContractSetup<unknown>,
      runEventStoreCase,
      catches,
    );
  variant(
    'retries a conflicting append on top of the new version (a lost update)',
    retryingEventStore,
    [
      {
        id: 'concurrentAppends',
        testCase: eventStoreCases.concurrentAppends,
        failure: /exactly one concurrent append commits/,
      },
      {
        id: 'staleVersion',
        testCase: eventStoreCases.staleVersion,
        failure: /expected EDA_VERSION_CONFLICT, but it succeeded/,
      },
    ],
  );
  variant('reads the global order without the commit-order fence', unfencedEventStore, [
    {
      id: 'lateCommit',
      testCase: eventStoreCases.lateCommit,
      failure: /Nothing happened for \d+ ms while waiting for 3 events/,
    },
  ]);
  variant('reads committed events only, ignoring the caller transaction', outsideReadsEventStore, [
    {
      id: 'readInTransaction',
      testCase: eventStoreCases.readInTransaction,
      failure: /readStream in the transaction/,
    },
  ]);
});

describe('broken monitor stores', () => {
  const variant = (
    name: string,
    wrap: Parameters<typeof memoryMonitorStoreSetup>[0],
    catches: readonly Catch<MonitorStoreCase>[],
  ) =>
    describeVariant<MonitorStoreCase, MonitorStoreContractSetup>(
      name,
      memoryMonitorStoreSetup(wrap),
      memoryMonitorStoreSetup(),
      runMonitorStoreCase,
      catches,
    );
  variant(
    'derives a flow from what it read before its own write, across an await (a lost update)',
    lostUpdateMonitorStore,
    [
      {
        id: 'concurrentWriters',
        testCase: monitorStoreCases.concurrentWriters,
        failure: /missed a record written concurrently \(lost updates\)/,
      },
    ],
  );
});
