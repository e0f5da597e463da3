import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { beforeEach, describe, expect, it } from 'vitest';
import type { MessageContext } from '../src/adapter.js';
import {
  bytesCodec,
  type Codec,
  ConfigurationError,
  defineCommand,
  defineEvent,
  EncodeError,
  jsonCodec,
} from '../src/index.js';
import { runInMessageContext } from '../src/message-context.js';
import { prepareMessage } from '../src/publisher/prepare-message.js';
import { registerOtelSdk } from './otel-sdk.js';

const Placed = defineEvent<{ orderId: string }>({ type: 'order.placed', owner: 'orders' });
const Ship = defineCommand<{ orderId: string }>({
  type: 'ship.order',
  owner: 'shipping',
  version: 3,
});
const Pinged = defineEvent<undefined>({ type: 'ping', owner: 'orders' });

const decode = (body: Uint8Array) => JSON.parse(new TextDecoder().decode(body)) as unknown;
const traceparentFormat = /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/;

/** The context a running handler gives: the message it handles and its processing trace. */
function handling(overrides: { correlationid?: string | undefined } = {}, tracestate?: string) {
  return {
    message: {
      id: 'parent-id',
      type: 'order.created',
      source: 'checkout',
      specversion: '1.0',
      kind: 'event',
      correlationid: 'workflow-7',
      ...overrides,
    },
    subscription: 'orders',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    ...(tracestate === undefined ? {} : { tracestate }),
    outgoing: { open: true, reserve: () => 0, add: () => undefined },
  } as MessageContext;
}

/** The error a promise rejects with; fails the test if it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

const exporter = new InMemorySpanExporter();

describe('prepareMessage', () => {
  registerOtelSdk(exporter);
  beforeEach(() => exporter.reset());

  it('builds a CloudEvents envelope from the definition, with the JSON body and a fresh id as its own correlation', async () => {
    const before = Date.now();
    const message = await prepareMessage(
      'orders',
      { system: 'eda_memory', name: 'test' },
      jsonCodec,
      Placed,
      { orderId: 'o-1' },
    );
    const { attributes } = message;
    expect(attributes).toEqual({
      id: expect.any(String),
      type: 'order.placed',
      source: 'orders',
      specversion: '1.0',
      time: expect.any(String),
      kind: 'event',
      datacontenttype: 'application/json',
      dataschema: 'urn:eda:order.placed:v1',
      correlationid: attributes.id,
      traceparent: expect.stringMatching(traceparentFormat),
    });
    expect(attributes.id).not.toBe('');
    expect(Date.parse(attributes.time!)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(attributes.time!)).toBeLessThanOrEqual(Date.now());
    expect(decode(message.body)).toEqual({ orderId: 'o-1' });
    // No handled message: no causation, no inherited trace state, none of the optional attributes.
    for (const absent of ['causationid', 'tracestate', 'subject', 'partitionkey', 'version'])
      expect(Object.hasOwn(attributes, absent), absent).toBe(false);
  });

  it('gives each message its own id', async () => {
    const a = await prepareMessage(
      'orders',
      { system: 'eda_memory', name: 'test' },
      jsonCodec,
      Placed,
      { orderId: 'o-1' },
    );
    const b = await prepareMessage(
      'orders',
      { system: 'eda_memory', name: 'test' },
      jsonCodec,
      Placed,
      { orderId: 'o-1' },
    );
    expect(a.attributes.id).not.toBe(b.attributes.id);
  });

  it('writes a command kind and the dataschema of its version', async () => {
    const { attributes } = await prepareMessage(
      'shop',
      { system: 'eda_memory', name: 'test' },
      jsonCodec,
      Ship,
      {
        orderId: 'o-2',
      },
    );
    expect(attributes).toMatchObject({
      kind: 'command',
      type: 'ship.order',
      dataschema: 'urn:eda:ship.order:v3',
    });
  });

  it('carries the caller options: id, correlation, subject, partition key and entity version', async () => {
    const { attributes } = await prepareMessage(
      'orders',
      { system: 'eda_memory', name: 'test' },
      jsonCodec,
      Placed,
      { orderId: 'o-3' },
      {
        id: 'my-id',
        correlationId: 'my-workflow',
        subject: 'order/o-3',
        partitionKey: 'o-3',
        version: 0,
      },
    );
    expect(attributes).toMatchObject({
      id: 'my-id',
      correlationid: 'my-workflow',
      subject: 'order/o-3',
      partitionkey: 'o-3',
      version: 0,
    });
  });

  it.each([-1, 1.5, 2_147_483_648, Number.NaN])(
    'refuses entity version %s with a ConfigurationError naming the type and the valid range',
    async (version) => {
      const attempt = prepareMessage(
        'orders',
        { system: 'eda_memory', name: 'test' },
        jsonCodec,
        Placed,
        { orderId: 'o' },
        {
          version,
        },
      );
      await expect(attempt).rejects.toThrow(ConfigurationError);
      await expect(attempt).rejects.toThrow(
        `Entity version ${version} of "order.placed" is invalid: use an integer from 0 to 2147483647 (the CloudEvents Integer range).`,
      );
    },
  );

  it('accepts the highest entity version', async () => {
    const { attributes } = await prepareMessage(
      'orders',
      { system: 'eda_memory', name: 'test' },
      jsonCodec,
      Placed,
      { orderId: 'o' },
      { version: 2_147_483_647 },
    );
    expect(attributes.version).toBe(2_147_483_647);
  });

  it('sends an empty body for a message without data, without calling the codec', async () => {
    let encoded = 0;
    const counting: Codec = {
      ...jsonCodec,
      encode(data) {
        encoded += 1;
        return jsonCodec.encode(data);
      },
    };
    const message = await prepareMessage(
      'orders',
      { system: 'eda_memory', name: 'test' },
      counting,
      Pinged,
      undefined,
    );
    expect(message.body).toBeInstanceOf(Uint8Array);
    expect(message.body.byteLength).toBe(0);
    expect(encoded).toBe(0);
  });

  it('encodes the data the schema returned, with the codec content type', async () => {
    const Trimmed = defineEvent({
      type: 'name.set',
      owner: 'people',
      schema: {
        '~standard': {
          version: 1,
          vendor: 'test',
          validate: (value: unknown) => ({
            value: { name: String((value as { name: string }).name).trim() },
          }),
        },
      },
    });
    const message = await prepareMessage(
      'people',
      { system: 'eda_memory', name: 'test' },
      jsonCodec,
      Trimmed,
      {
        name: '  Ada ',
      },
    );
    expect(decode(message.body)).toEqual({ name: 'Ada' });
    const bytes = await prepareMessage(
      'people',
      { system: 'eda_memory', name: 'test' },
      bytesCodec,
      Pinged as never,
      new Uint8Array([1, 2]),
    );
    expect(bytes.attributes.datacontenttype).toBe('application/octet-stream');
    expect([...bytes.body]).toEqual([1, 2]);
  });

  it('reports data the codec cannot encode as an EncodeError naming the type, the media type and the reason', async () => {
    const attempt = prepareMessage(
      'orders',
      { system: 'eda_memory', name: 'test' },
      bytesCodec,
      Placed,
      { orderId: 'o' },
    );
    await expect(attempt).rejects.toBeInstanceOf(EncodeError);
    await expect(attempt).rejects.toThrow(
      'Data of "order.placed" cannot be encoded as application/octet-stream: application/octet-stream data must be a Uint8Array.',
    );
    const error = (await rejectionOf(attempt)) as EncodeError;
    expect(error.code).toBe('EDA_ENCODE');
    expect(error.retryable).toBe(false);
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it('inside a handler: inherits the workflow correlation, names the handled message as cause and continues its trace', async () => {
    const parent = handling({}, 'vendor=1');
    const { attributes } = await runInMessageContext(parent, () =>
      prepareMessage('orders', { system: 'eda_memory', name: 'test' }, jsonCodec, Placed, {
        orderId: 'o-4',
      }),
    );
    expect(attributes).toMatchObject({
      correlationid: 'workflow-7',
      causationid: 'parent-id',
      tracestate: 'vendor=1',
    });
    expect(attributes.traceparent?.split('-')[1]).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(attributes.id).not.toBe('parent-id');
  });

  it('inside a handler whose message has no correlation: the handled message id starts the workflow', async () => {
    const { attributes } = await runInMessageContext(handling({ correlationid: undefined }), () =>
      prepareMessage('orders', { system: 'eda_memory', name: 'test' }, jsonCodec, Placed, {
        orderId: 'o-5',
      }),
    );
    expect(attributes.correlationid).toBe('parent-id');
    expect(Object.hasOwn(attributes, 'tracestate')).toBe(false);
  });

  it('an explicit correlation id wins over the handled message', async () => {
    const { attributes } = await runInMessageContext(handling(), () =>
      prepareMessage(
        'orders',
        { system: 'eda_memory', name: 'test' },
        jsonCodec,
        Placed,
        { orderId: 'o' },
        {
          correlationId: 'mine',
        },
      ),
    );
    expect(attributes).toMatchObject({ correlationid: 'mine', causationid: 'parent-id' });
  });

  it('records a producer span with the messaging system, message id and conversation id', async () => {
    const { attributes } = await prepareMessage(
      'orders',
      { system: 'kafka', name: 'orders.v1' },
      jsonCodec,
      Placed,
      { orderId: 'o-6' },
      { correlationId: 'flow-6' },
    );
    const [span] = exporter.getFinishedSpans().filter((s) => s.name === 'create orders.v1');
    expect(span?.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.message.id': attributes.id,
      'messaging.message.conversation_id': 'flow-6',
    });
    expect(attributes.traceparent?.split('-')[2]).toBe(span?.spanContext().spanId);
  });
});
