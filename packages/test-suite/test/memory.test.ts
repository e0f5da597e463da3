// The four contract suites against core's in-memory implementations: the reference adapters
// must pass every case (a skipped case names the capability the in-memory adapter lacks).
import { createCompositeTransport } from '@eda/core';
import {
  describeEventStoreContract,
  describeIdempotencyStoreContract,
  describeMonitorStoreContract,
  describeOutboxStoreContract,
  describePayloadStoreContract,
  describeTransportContract,
} from '../src/index.js';
import {
  memoryEventStoreSetup,
  memoryIdempotencySetup,
  memoryMonitorStoreSetup,
  memoryOutboxSetup,
  memoryPayloadSetup,
  memoryTransportSetup,
} from './memory-setups.js';

describeTransportContract('in-memory transport', memoryTransportSetup());
// The composite routes events and commands to their own transports; here both are in-memory
// clients of one broker, which proves the routing keeps every guarantee of the contract.
describeTransportContract(
  'composite transport (in-memory events + in-memory commands)',
  memoryTransportSetup((inner) => createCompositeTransport({ events: inner, commands: inner })),
);
describeOutboxStoreContract('in-memory outbox store', memoryOutboxSetup());
describeIdempotencyStoreContract('in-memory idempotency store', memoryIdempotencySetup());
describePayloadStoreContract('in-memory payload store', memoryPayloadSetup());
describeEventStoreContract('in-memory event store', memoryEventStoreSetup());
describeMonitorStoreContract('in-memory monitor store', memoryMonitorStoreSetup());
