// Crash simulation for tests, kept off the public API: a transport registers how to kill itself,
// and the contract suite's `killClient` hook calls it.

const kills = new WeakMap<object, () => Promise<void>>();

export function registerKill(transport: object, kill: () => Promise<void>): void {
  kills.set(transport, kill);
}

/**
 * Kills a Kafka transport as a crashed process would leave it: handler results still in flight
 * are never settled or committed (so the group redelivers them), then its clients disconnect.
 * @throws Error when `transport` is not a Kafka transport.
 */
export async function killKafkaTransport(transport: object): Promise<void> {
  const kill = kills.get(transport);
  if (!kill) throw new Error('killKafkaTransport: not a transport made by createKafkaTransport.');
  await kill();
}
