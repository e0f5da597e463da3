// Builds the wire form of a message from its definition and data: validated data, envelope
// attributes that inherit the current handler's correlation, causation and trace, and the
// encoded body.
import type { Codec } from '../codec.js';
import type { OutgoingMessage } from '../contracts/transport.js';
import {
  assertExtensions,
  type EnvelopeAttributes,
  isEntityVersion,
  MAX_ENTITY_VERSION,
} from '../envelope.js';
import { ConfigurationError, EdaError } from '../errors.js';
import { uuidv7 } from '../ids.js';
import { currentMessageContext } from '../message-context.js';
import { type MessageDefinition, validateData } from '../message-definition.js';
import { inCreateSpan, type SpanDestination } from '../tracing.js';

/** Per-message options of `publish` and `send`. */
export interface MessageOptions {
  /** Messages with equal keys keep their order (Kafka record key, outbox aggregate). */
  readonly partitionKey?: string;
  /** What the message is about, such as an order id. */
  readonly subject?: string;
  /** Entity version, for entity-changed events consumed with `dedupe: 'entity-version'`. */
  readonly version?: number;
  /** Message id. @default a new UUIDv7 */
  readonly id?: string;
  /** Correlation id of the workflow. @default inherited from the message being handled, else the new message's id */
  readonly correlationId?: string;
  /**
   * CloudEvents extension attributes of your own, such as `{ tenantid: 't-1' }`: names of 1 to
   * 20 lower-case letters a-z and digits 0-9 that the envelope does not define, string values.
   * They travel as attributes (`ce_tenantid` on Kafka) and reach the handler as
   * `message.extensions`. Not inherited by messages the handler publishes.
   * @throws ConfigurationError (nothing is sent) for a bad or reserved name, or a non-string value.
   */
  readonly extensions?: Readonly<Record<string, string>>;
}

/** A message that cannot be encoded with the configured codec. Nothing was sent. */
export class EncodeError extends EdaError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('EDA_ENCODE', message, { ...options, retryable: false });
  }
}

export async function prepareMessage(
  service: string,
  destination: SpanDestination,
  codec: Codec,
  definition: MessageDefinition,
  data: unknown,
  options: MessageOptions = {},
): Promise<OutgoingMessage> {
  if (options.version !== undefined && !isEntityVersion(options.version)) {
    throw new ConfigurationError(
      `Entity version ${options.version} of "${definition.type}" is invalid: use an integer from 0 to ${MAX_ENTITY_VERSION} (the CloudEvents Integer range).`,
    );
  }
  if (options.partitionKey === '') {
    throw new ConfigurationError(
      `Partition key of "${definition.type}" is empty: leave partitionKey out, or give a non-empty key (such as the entity id).`,
    );
  }
  if (options.extensions !== undefined) assertExtensions(options.extensions);
  const validated = await validateData(definition, data);
  let body: Uint8Array;
  try {
    body = validated === undefined ? new Uint8Array(0) : codec.encode(validated);
  } catch (cause) {
    throw new EncodeError(
      `Data of "${definition.type}" cannot be encoded as ${codec.contentType}: ${(cause as Error).message}`,
      { cause },
    );
  }
  const parent = currentMessageContext();
  const id = options.id ?? uuidv7();
  const correlationid =
    options.correlationId ?? parent?.message.correlationid ?? parent?.message.id ?? id;
  const spanAttributes = {
    'messaging.message.id': id,
    'messaging.message.conversation_id': correlationid,
    'messaging.message.body.size': body.byteLength,
  };
  return inCreateSpan(
    destination,
    spanAttributes,
    parent?.traceparent,
    async ({ traceparent, headers }) => {
      const attributes: EnvelopeAttributes = {
        id,
        type: definition.type,
        source: service,
        specversion: '1.0',
        time: new Date().toISOString(),
        kind: definition.kind,
        datacontenttype: codec.contentType,
        dataschema: definition.dataschema,
        correlationid,
        traceparent,
        ...(parent ? { causationid: parent.message.id } : {}),
        ...(parent?.tracestate === undefined ? {} : { tracestate: parent.tracestate }),
        ...(options.subject === undefined ? {} : { subject: options.subject }),
        ...(options.partitionKey === undefined ? {} : { partitionkey: options.partitionKey }),
        ...(options.version === undefined ? {} : { version: options.version }),
        ...(options.extensions === undefined ? {} : { extensions: { ...options.extensions } }),
      };
      return headers ? { attributes, body, headers } : { attributes, body };
    },
  );
}
