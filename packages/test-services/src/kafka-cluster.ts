// A three-broker Kafka 4 cluster (KRaft, replication factor 3, min.insync.replicas 2) that a test
// starts and stops itself: scripts/services/kafka-cluster.sh, on ports of its own (29092-29094),
// so killing one of its nodes never disturbs the single brokers other tests use.
import { Kafka, logLevel } from 'kafkajs';
import { runServiceScript } from './faults.js';

/** The cluster's bootstrap brokers (EDA_KAFKA_CLUSTER_PORT moves them, as in the script). */
export function kafkaClusterBrokers(): string[] {
  const base = Number(process.env.EDA_KAFKA_CLUSTER_PORT || 29092);
  return [0, 1, 2].map((i) => `127.0.0.1:${base + i}`);
}

/** Starts the three nodes (fetching the jars on first use) and waits until each is ready. */
export async function startKafkaCluster(): Promise<void> {
  await runServiceScript('kafka-cluster.sh', 'start');
}

/** Stops the three nodes and deletes their data, so the next start is an empty cluster. */
export async function wipeKafkaCluster(): Promise<void> {
  await runServiceScript('kafka-cluster.sh', 'wipe');
}

/** SIGKILLs one node (1, 2 or 3): a crash, no controlled shutdown, no leadership handed over. */
export async function killKafkaNode(node: number): Promise<void> {
  await runServiceScript('kafka-cluster.sh', 'kill-node', String(node));
}

/** Starts one node again on its data and waits until it is ready. */
export async function startKafkaNode(node: number): Promise<void> {
  await runServiceScript('kafka-cluster.sh', 'start-node', String(node));
}

/**
 * The node id (1, 2 or 3) that leads `partition` of `topic` now.
 * @throws Error when the topic or partition is unknown or has no leader.
 */
export async function kafkaPartitionLeader(topic: string, partition = 0): Promise<number> {
  const admin = new Kafka({
    clientId: 'eda-test-services-cluster',
    brokers: kafkaClusterBrokers(),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
  }).admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    const leader = topics[0]?.partitions.find((p) => p.partitionId === partition)?.leader;
    if (leader === undefined || leader < 0)
      throw new Error(`Kafka cluster: partition ${partition} of ${topic} has no leader now.`);
    return leader;
  } finally {
    await admin.disconnect();
  }
}
