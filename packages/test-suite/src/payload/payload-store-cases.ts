// Every case of the payload store contract, by id.
import {
  alteredCase,
  binaryExactCase,
  deleteCase,
  forgedRefsCase,
  largeRoundTripCase,
  maxBytesCase,
  missingKeyCase,
  smallRoundTripCase,
  streamingPutCase,
  unguessableKeysCase,
} from './payload-cases.js';
import type { PayloadCase } from './payload-setup.js';

/** The payload store contract's cases, by id. */
export const payloadStoreCases = {
  smallRoundTrip: smallRoundTripCase,
  largeRoundTrip: largeRoundTripCase,
  binaryExact: binaryExactCase,
  streamingPut: streamingPutCase,
  missingKey: missingKeyCase,
  delete: deleteCase,
  altered: alteredCase,
  forgedRefs: forgedRefsCase,
  maxBytes: maxBytesCase,
  unguessableKeys: unguessableKeysCase,
} as const satisfies Readonly<Record<string, PayloadCase>>;

/** Id of a payload store case. */
export type PayloadStoreCaseId = keyof typeof payloadStoreCases;
