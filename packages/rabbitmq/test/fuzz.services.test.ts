// Bad input fuzzed at the RabbitMQ delivery path: amqplib publishes raw messages to the queue a
// real consumer (createBus + subscribe, default options) reads; forged claim-check references
// point at a real S3 payload store. Dead letters are read from the real dead-letter queue.
import { createS3PayloadStore } from '@eda/s3-claimcheck';
import {
  claimCheckFor,
  cleanupServices,
  connectRabbit,
  createS3Client,
  fuzzDeliveryPath,
  useS3Prefix,
  type WireInput,
} from '@eda/test-services';
import type { Options } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { ATTRIBUTE_PREFIX } from '../src/index.js';
import { useRabbitNamespace } from './rabbit-env.js';

/** AMQP publish options: `cloudEvents_` attribute headers, the content type as the property. */
function toPublishOptions(message: WireInput): Options.Publish {
  const headers = Object.fromEntries([
    ...Object.entries(message.headers),
    ...Object.entries(message.attributes).map(([name, value]) => [
      `${ATTRIBUTE_PREFIX}${name}`,
      typeof value === 'string' ? value : Buffer.from(value),
    ]),
  ]);
  return {
    persistent: true,
    headers,
    ...(message.contentType === undefined ? {} : { contentType: message.contentType }),
  };
}

describe('bad input on RabbitMQ', () => {
  afterEach(cleanupServices);

  it('dead-letters every bad message with its reason, keeps consuming, pollutes nothing', async () => {
    const ns = useRabbitNamespace('fuzz');
    const transport = ns.transport();
    const subscription = 'fuzz';
    const client = createS3Client();
    const objects = await useS3Prefix('rabbitmq-fuzz');
    const store = createS3PayloadStore({ client, bucket: objects.bucket, prefix: objects.prefix });
    const claimCheck = await claimCheckFor(store, {
      store: 's3',
      bucket: objects.bucket,
      prefix: objects.prefix,
    });
    const connection = await connectRabbit('eda-rabbitmq-fuzz-writer');
    try {
      const channel = await connection.createConfirmChannel();
      const queue = transport.names.subscriptionQueue(subscription);
      const report = await fuzzDeliveryPath({
        transport,
        subscription,
        ...claimCheck,
        numRuns: 100,
        wire: () => ({
          async write(messages) {
            for (const message of messages)
              channel.sendToQueue(queue, Buffer.from(message.body), toPublishOptions(message));
            await channel.waitForConfirms();
          },
          async deadLetters() {
            return (await ns.deadLetters(subscription)).map((letter) => letter.headers);
          },
        }),
      });
      expect(report.runs).toBe(100);
      expect(report.deadLettered).toBeGreaterThan(report.handled);
    } finally {
      await connection.close();
      client.destroy();
    }
  });
});
