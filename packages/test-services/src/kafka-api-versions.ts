// Which protocol versions a broker accepts, and which ones kafkajs would send it: kafkajs picks
// min(its newest, the broker's newest) and never looks at the broker's oldest, so a broker that
// dropped old versions (Kafka 4 did, KIP-896) can reject it. Tests use this to check each line.
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { type KafkaMajor, kafkaBrokers } from './endpoints.js';

/** Versions of one request type that a broker accepts. */
export interface ApiVersionRange {
  /** The Kafka API key, such as 0 for Produce. */
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

/**
 * Asks the first broker of a Kafka line for its ApiVersions (request version 0, which every
 * broker answers), over a plain socket so no client library's view is involved.
 *
 * @throws Error when the broker does not answer within 5 s or answers with an error.
 */
export async function fetchBrokerApiVersions(major: KafkaMajor = 4): Promise<ApiVersionRange[]> {
  const [host, port] = splitHostPort(kafkaBrokers(major)[0]!);
  const clientId = Buffer.from('eda-test-services');
  const request = Buffer.alloc(4 + 2 + 2 + 4 + 2 + clientId.length);
  request.writeInt32BE(request.length - 4, 0);
  request.writeInt16BE(18, 4); // ApiVersions
  request.writeInt16BE(0, 6); // version 0
  request.writeInt32BE(1, 8); // correlation id
  request.writeInt16BE(clientId.length, 12);
  clientId.copy(request, 14);

  const response = await new Promise<Buffer>((resolve, reject) => {
    const socket = new Socket();
    const chunks: Buffer[] = [];
    socket.setTimeout(5_000, () => socket.destroy(new Error('ApiVersions: no answer in 5 s')));
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const all = Buffer.concat(chunks);
      if (all.length >= 4 && all.length >= 4 + all.readInt32BE(0)) {
        socket.end();
        resolve(all.subarray(4, 4 + all.readInt32BE(0)));
      }
    });
    socket.connect(port, host, () => socket.write(request));
  });
  const errorCode = response.readInt16BE(4);
  if (errorCode !== 0) throw new Error(`ApiVersions answered with error code ${errorCode}`);
  const count = response.readInt32BE(6);
  return Array.from({ length: count }, (_, i) => {
    const at = 10 + i * 6;
    return {
      apiKey: response.readInt16BE(at),
      minVersion: response.readInt16BE(at + 2),
      maxVersion: response.readInt16BE(at + 4),
    };
  });
}

/** A request kafkajs implements, and the version it would send to a given broker. */
export interface KafkajsRequestVersion {
  /** kafkajs's name for the request, such as `Produce`. */
  name: string;
  apiKey: number;
  /** Newest version kafkajs implements. */
  newest: number;
  /** What kafkajs sends: min(newest, broker max); undefined if the broker lacks the API. */
  sent: number | undefined;
  /** The broker's range, if it has the API. */
  broker: ApiVersionRange | undefined;
  /** True when the broker accepts the version kafkajs sends. */
  accepted: boolean;
}

/**
 * Lists every request kafkajs implements with the version it would send to this broker. Reads
 * kafkajs's own request table (internal files of the pinned 2.2.4).
 */
export async function kafkajsRequestVersions(
  major: KafkaMajor = 4,
): Promise<KafkajsRequestVersion[]> {
  const require = createRequire(import.meta.url);
  const { requests } = require('kafkajs/src/protocol/requests/index.js') as {
    requests: Record<string, { versions: string[] }>;
  };
  const apiKeys = require('kafkajs/src/protocol/requests/apiKeys.js') as Record<string, number>;
  const ranges = new Map((await fetchBrokerApiVersions(major)).map((r) => [r.apiKey, r]));
  return Object.entries(requests).flatMap(([name, definition]) => {
    const apiKey = apiKeys[name];
    if (apiKey === undefined || definition.versions.length === 0) return [];
    const newest = Math.max(...definition.versions.map(Number));
    const broker = ranges.get(apiKey);
    const sent = broker ? Math.min(newest, broker.maxVersion) : undefined;
    const accepted = broker !== undefined && sent !== undefined && sent >= broker.minVersion;
    return [{ name, apiKey, newest, sent, broker, accepted }];
  });
}

function splitHostPort(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at), Number(address.slice(at + 1))];
}
