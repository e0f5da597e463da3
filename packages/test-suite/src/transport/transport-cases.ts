// Every case of the transport contract, by id. Kind-neutral cases exist once per kind, so
// topics and queues are both held to them.

import {
  deadLetterListCase,
  redriveCase,
  redriveSelectionCase,
} from './dead-letter-admin-cases.js';
import { deferredRetryCase } from './deferred-cases.js';
import {
  binaryDataCase,
  competingConsumersCase,
  consumerGroupsCase,
  isolationCase,
  manyMessagesCase,
  perKeyOrderCase,
  replayCase,
  roundTripCase,
} from './delivery-cases.js';
import {
  deliveryCountCase,
  failedHandlerEmitsNothingCase,
  poisonCase,
  redeliveryCase,
  undecodableCase,
  unhandledTypeCase,
} from './failure-cases.js';
import { commandOwnershipCase } from './ownership-cases.js';
import { partialFlushCase } from './partial-flush-cases.js';
import { closeAndReopenCase, killClientCase, restartBrokerCase } from './resilience-cases.js';
import type { TransportCase } from './transport-setup.js';

/** The transport contract's cases, by id (use an id in `expectedFailures` or to run one case with `runTransportCase`). */
export const transportCases = {
  eventRoundTrip: roundTripCase('event'),
  commandRoundTrip: roundTripCase('command'),
  eventBinaryData: binaryDataCase('event'),
  commandBinaryData: binaryDataCase('command'),
  eventManyMessages: manyMessagesCase('event'),
  commandManyMessages: manyMessagesCase('command'),
  eventCompetingConsumers: competingConsumersCase('event'),
  commandCompetingConsumers: competingConsumersCase('command'),
  consumerGroups: consumerGroupsCase,
  replay: replayCase,
  eventIsolation: isolationCase('event'),
  commandIsolation: isolationCase('command'),
  eventPerKeyOrder: perKeyOrderCase('event'),
  eventRedelivery: redeliveryCase('event'),
  commandRedelivery: redeliveryCase('command'),
  eventDeliveryCount: deliveryCountCase('event'),
  commandDeliveryCount: deliveryCountCase('command'),
  eventDeferredRetry: deferredRetryCase('event'),
  commandDeferredRetry: deferredRetryCase('command'),
  eventPoison: poisonCase('event'),
  commandPoison: poisonCase('command'),
  eventUndecodable: undecodableCase('event'),
  commandUndecodable: undecodableCase('command'),
  unhandledType: unhandledTypeCase,
  failedHandlerEmitsNothing: failedHandlerEmitsNothingCase,
  partialFlush: partialFlushCase,
  commandOwnership: commandOwnershipCase,
  eventCloseAndReopen: closeAndReopenCase('event'),
  commandCloseAndReopen: closeAndReopenCase('command'),
  eventKillClient: killClientCase('event'),
  commandKillClient: killClientCase('command'),
  eventRestartBroker: restartBrokerCase('event'),
  commandRestartBroker: restartBrokerCase('command'),
  eventDeadLetterList: deadLetterListCase('event'),
  commandDeadLetterList: deadLetterListCase('command'),
  eventRedrive: redriveCase('event'),
  commandRedrive: redriveCase('command'),
  eventRedriveSelection: redriveSelectionCase('event'),
  commandRedriveSelection: redriveSelectionCase('command'),
} as const satisfies Readonly<Record<string, TransportCase>>;

/** Id of a transport case. */
export type TransportCaseId = keyof typeof transportCases;
