// Bad input fuzzed at the Kafka delivery path: a kafkajs producer writes raw records to the
// topic a real consumer (createBus + subscribe, default options) reads; forged claim-check
// references point at a real S3 payload store. Dead letters are read from the real DLQ topic.
import { createS3PayloadStore } from '@eda/s3-claimcheck';
import {
  claimCheckFor,
  cleanupServices,
  createS3Client,
  FUZZ_TYPE,
  fuzzDeliveryPath,
  kafkaBrokers,
  useS3Prefix,
  type WireInput,
} from '@eda/test-services';
import type { IHeaders } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { createKafkaTransport } from '../src/index.js';
import { headerStrings } from '../src/record-mapping.js';
import { type Namespace, namespace } from './helpers.js';

/** A raw record: `ce_` attribute headers, `content-type`, the body as the value. */
function toRawRecord(message: WireInput) {
  const headers: IHeaders = Object.fromEntries([
    ...Object.entries(message.headers),
    ...Object.entries(message.attributes).map(([name, value]) => [
      `ce_${name}`,
      typeof value === 'string' ? value : Buffer.from(value),
    ]),
    ...(message.contentType === undefined ? [] : [['content-type', message.contentType]]),
  ]);
  return {
    key: null,
    value: message.body.byteLength === 0 ? null : Buffer.from(message.body),
    headers,
  };
}

describe('bad input on Kafka', () => {
  let ns: Namespace | undefined;
  afterEach(async () => {
    await ns?.cleanup();
    await cleanupServices();
  });

  it('dead-letters every bad record with its reason, keeps consuming, pollutes nothing', async () => {
    ns = namespace(4, 'fuzz');
    // The transport at the defaults a user gets (the namespace's transports tune the consumer).
    const transport = createKafkaTransport({
      brokers: kafkaBrokers(4),
      topicPrefix: ns.prefix,
      logLevel: 'nothing',
    });
    const subscription = ns.group('fuzz');
    const topic = transport.topicFor(FUZZ_TYPE);
    const deadLetterTopic = transport.deadLetterTopicFor(subscription);
    await transport.ensureTopics([topic, deadLetterTopic]);
    const client = createS3Client();
    const objects = await useS3Prefix('kafka-fuzz');
    const store = createS3PayloadStore({ client, bucket: objects.bucket, prefix: objects.prefix });
    const claimCheck = await claimCheckFor(store, {
      store: 's3',
      bucket: objects.bucket,
      prefix: objects.prefix,
    });
    const producer = ns.kafka.producer();
    await producer.connect();
    const letters: Record<string, string>[] = [];
    const reader = ns.kafka.consumer({ groupId: ns.group('dlq-reader'), maxWaitTimeInMs: 100 });
    try {
      const report = await fuzzDeliveryPath({
        transport,
        subscription,
        ...claimCheck,
        numRuns: 100,
        wire: async () => {
          await reader.connect();
          await reader.subscribe({ topics: [deadLetterTopic], fromBeginning: true });
          await reader.run({
            eachMessage: async ({ message }) => {
              letters.push(headerStrings(message.headers).headers);
            },
          });
          return {
            async write(messages) {
              await producer.send({ topic, messages: messages.map(toRawRecord) });
            },
            async deadLetters() {
              return letters;
            },
          };
        },
      });
      expect(report.runs).toBe(100);
      expect(report.deadLettered).toBeGreaterThan(report.handled);
    } finally {
      await reader.disconnect();
      await producer.disconnect();
      await transport.close();
      client.destroy();
    }
  });
});
