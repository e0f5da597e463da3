// The four contract suites against core's in-memory implementations: the reference adapters
// must pass every case (a skipped case names the capability the in-memory adapter lacks).
import {
  describeIdempotencyStoreContract,
  describeOutboxStoreContract,
  describePayloadStoreContract,
  describeTransportContract,
} from '../src/index.js';
import {
  memoryIdempotencySetup,
  memoryOutboxSetup,
  memoryPayloadSetup,
  memoryTransportSetup,
} from './memory-setups.js';

describeTransportContract('in-memory transport', memoryTransportSetup());
describeOutboxStoreContract('in-memory outbox store', memoryOutboxSetup());
describeIdempotencyStoreContract('in-memory idempotency store', memoryIdempotencySetup());
describePayloadStoreContract('in-memory payload store', memoryPayloadSetup());
