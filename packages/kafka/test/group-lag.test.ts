// The lag read goes on through the errors a coordinator gives while it moves or loads after a
// broker restart (a crash run's dead-letter count failed on one "not the coordinator" answer),
// and gives up at once on anything else.
import type { Admin } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { groupLag } from '../src/group-admin.js';

const notCoordinator = Object.assign(
  new Error('This is not the correct coordinator for this group'),
  {
    name: 'KafkaJSProtocolError',
    type: 'NOT_COORDINATOR',
    retriable: true,
  },
);

/** An admin whose offset fetch fails with `errors`, one per call, then answers. */
function adminFailing(errors: Error[]) {
  const calls = { fetchOffsets: 0 };
  const admin = {
    fetchTopicOffsets: async () => [{ partition: 0, offset: '10', high: '10', low: '0' }],
    fetchOffsets: async () => {
      calls.fetchOffsets++;
      const error = errors.shift();
      if (error) throw error;
      return [{ topic: 't', partitions: [{ partition: 0, offset: '4' }] }];
    },
  } as unknown as Admin;
  return { admin, calls };
}

describe('groupLag', () => {
  it('reads again while the coordinator answers with a retriable error', async () => {
    const { admin, calls } = adminFailing([notCoordinator, notCoordinator]);
    expect(await groupLag(admin, 'g', 't')).toEqual([
      { partition: 0, committed: '4', end: '10', lag: 6 },
    ]);
    expect(calls.fetchOffsets).toBe(3);
  });

  it('throws an error that is not retriable at once', async () => {
    const denied = Object.assign(new Error('Not authorized to access group'), { retriable: false });
    const { admin, calls } = adminFailing([denied]);
    await expect(groupLag(admin, 'g', 't')).rejects.toBe(denied);
    expect(calls.fetchOffsets).toBe(1);
  });
});
