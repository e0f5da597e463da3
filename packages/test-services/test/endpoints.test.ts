import { describe, expect, it } from 'vitest';
import { defaultEnv, readEndpoints, uniqueName } from '../src/index.js';

describe('readEndpoints', () => {
  it('falls back to the loopback defaults for unset or empty variables', () => {
    const e = readEndpoints({ EDA_REDIS_URL: '' });
    expect(e.kafkaBrokers).toEqual(['127.0.0.1:9092']);
    expect(e.kafka3Brokers).toEqual(['127.0.0.1:9192']);
    expect(e.redisUrl).toBe(defaultEnv.EDA_REDIS_URL);
    expect(e.s3).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      accessKeyId: 'eda',
      secretAccessKey: 'eda-secret-key',
      bucket: 'eda-test',
    });
    expect(e.zipkinUrl).toBe('http://127.0.0.1:9411');
    expect(readEndpoints({ EDA_ZIPKIN_URL: 'http://zipkin:9411' }).zipkinUrl).toBe(
      'http://zipkin:9411',
    );
  });

  it('reads overrides and splits broker lists', () => {
    const e = readEndpoints({ EDA_KAFKA_BROKERS: 'a:1, b:2', EDA_S3_BUCKET: 'other' });
    expect(e.kafkaBrokers).toEqual(['a:1', 'b:2']);
    expect(e.s3.bucket).toBe('other');
  });
});

describe('uniqueName', () => {
  it('makes distinct names from the allowed characters only', () => {
    const names = new Set(Array.from({ length: 100 }, () => uniqueName('Orders Topic!')));
    expect(names.size).toBe(100);
    for (const name of names) expect(name).toMatch(/^eda-orders-topic-[a-z0-9]+-[0-9a-f]{6}$/);
    expect(uniqueName('my schema', '_')).toMatch(/^eda_my_schema_[a-z0-9]+_[0-9a-f]{6}$/);
  });
});
