// The README snippets use the plain names a user would (queue "ship.order", topics "shop.*"), not
// a test's unique names: remove them before and after a run so each run starts from nothing
// queued and leaves nothing behind on the shared services.
import { connectRabbit, createKafka, waitForKafka } from '@eda/test-services';

const rabbitQueues = ['ship.order', 'shipping.dead-letter'];
const kafkaTopicPrefix = 'shop.';
const kafkaGroups = ['billing'];

export async function removeSnippetLeftovers(): Promise<void> {
  const rabbit = await connectRabbit('eda-install-alone');
  const channel = await rabbit.createChannel();
  for (const queue of rabbitQueues) await channel.deleteQueue(queue);
  await rabbit.close();

  // Other services tests restart the shared broker: wait for it rather than fail on a restart.
  await waitForKafka(4);
  const admin = createKafka(4).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(kafkaTopicPrefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const known = new Set((await admin.listGroups()).groups.map((group) => group.groupId));
    const groups = kafkaGroups.filter((group) => known.has(group));
    if (groups.length > 0) await admin.deleteGroups(groups);
  } finally {
    await admin.disconnect();
  }
}
