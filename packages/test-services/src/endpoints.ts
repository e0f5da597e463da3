// Where the services are: the one place that reads the EDA_* variables. The defaults are the
// loopback endpoints that `pnpm services:up` starts or checks (scripts/services/README.md).

/** The two Kafka lines the tests run against: the newest 4.x and the last 3.9.x. */
export type KafkaMajor = 4 | 3;

/** Both Kafka lines, newest first: handy for `describe.each(kafkaMajors)`. */
export const kafkaMajors: readonly KafkaMajor[] = [4, 3];

/** S3 settings for a path-style client. */
export interface S3Endpoint {
  /** Base URL of the S3 API. From `EDA_S3_ENDPOINT`. @default 'http://127.0.0.1:9000' */
  endpoint: string;
  /** Region used for signing. From `EDA_S3_REGION`. @default 'us-east-1' */
  region: string;
  /** From `EDA_S3_ACCESS_KEY_ID`. @default 'eda' */
  accessKeyId: string;
  /** From `EDA_S3_SECRET_ACCESS_KEY`. @default 'eda-secret-key' */
  secretAccessKey: string;
  /** Bucket that exists for tests; tests write under unique prefixes. From `EDA_S3_BUCKET`. @default 'eda-test' */
  bucket: string;
}

/** Every endpoint the services tests use. */
export interface ServiceEndpoints {
  /** Kafka 4.x bootstrap brokers. From `EDA_KAFKA_BROKERS` (comma-separated). @default ['127.0.0.1:9092'] */
  kafkaBrokers: string[];
  /** Kafka 3.9.x bootstrap brokers. From `EDA_KAFKA3_BROKERS` (comma-separated). @default ['127.0.0.1:9192'] */
  kafka3Brokers: string[];
  /** From `EDA_POSTGRES_URL`. @default 'postgres://postgres@127.0.0.1:5432/test' */
  postgresUrl: string;
  /** From `EDA_REDIS_URL`. @default 'redis://127.0.0.1:6379' */
  redisUrl: string;
  /** From `EDA_AMQP_URL`. @default 'amqp://guest:guest@127.0.0.1:5672' */
  amqpUrl: string;
  /** S3 API settings. */
  s3: S3Endpoint;
  /** Zipkin's base URL (spans in at `/api/v2/spans`). From `EDA_ZIPKIN_URL`. @default 'http://127.0.0.1:9411' */
  zipkinUrl: string;
}

/** The values used when a variable is unset or empty. */
export const defaultEnv = {
  EDA_KAFKA_BROKERS: '127.0.0.1:9092',
  EDA_KAFKA3_BROKERS: '127.0.0.1:9192',
  EDA_POSTGRES_URL: 'postgres://postgres@127.0.0.1:5432/test',
  EDA_REDIS_URL: 'redis://127.0.0.1:6379',
  EDA_AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
  EDA_S3_ENDPOINT: 'http://127.0.0.1:9000',
  EDA_S3_REGION: 'us-east-1',
  EDA_S3_ACCESS_KEY_ID: 'eda',
  EDA_S3_SECRET_ACCESS_KEY: 'eda-secret-key',
  EDA_S3_BUCKET: 'eda-test',
  EDA_ZIPKIN_URL: 'http://127.0.0.1:9411',
} as const;

/** Reads the endpoints from an environment (the process's by default), filling in defaults. */
export function readEndpoints(
  env: Record<string, string | undefined> = process.env,
): ServiceEndpoints {
  const get = (name: keyof typeof defaultEnv): string => env[name] || defaultEnv[name];
  const list = (value: string): string[] =>
    value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return {
    kafkaBrokers: list(get('EDA_KAFKA_BROKERS')),
    kafka3Brokers: list(get('EDA_KAFKA3_BROKERS')),
    postgresUrl: get('EDA_POSTGRES_URL'),
    redisUrl: get('EDA_REDIS_URL'),
    amqpUrl: get('EDA_AMQP_URL'),
    s3: {
      endpoint: get('EDA_S3_ENDPOINT'),
      region: get('EDA_S3_REGION'),
      accessKeyId: get('EDA_S3_ACCESS_KEY_ID'),
      secretAccessKey: get('EDA_S3_SECRET_ACCESS_KEY'),
      bucket: get('EDA_S3_BUCKET'),
    },
    zipkinUrl: get('EDA_ZIPKIN_URL'),
  };
}

/** The endpoints of this process, read once at import. */
export const endpoints: ServiceEndpoints = readEndpoints();

/** Bootstrap brokers of one Kafka line. */
export function kafkaBrokers(major: KafkaMajor = 4): string[] {
  return major === 4 ? endpoints.kafkaBrokers : endpoints.kafka3Brokers;
}
