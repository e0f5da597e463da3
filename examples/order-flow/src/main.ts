// `pnpm demo`: runs the order flow on embedded (in-memory) infrastructure and prints a
// timeline per order.
import { createEmbeddedInfrastructure } from './infrastructure.js';
import { runOrderFlow } from './order-flow.js';

const infra = createEmbeddedInfrastructure();
try {
  const report = await runOrderFlow(infra);
  console.log(`Order flow on ${infra.description} infrastructure\n`);
  for (const order of report.orders) {
    console.log(`${order.orderId}  (correlation ${order.correlationId})`);
    const start = order.timeline[0]?.at ?? 0;
    for (const step of order.timeline) {
      const offset = `+${step.at - start}ms`.padStart(7);
      console.log(
        `  ${offset}  ${step.service.padEnd(13)} ${step.action.padEnd(17)} ${step.type.padEnd(18)} ${step.detail ?? ''}`,
      );
    }
    console.log('');
  }
  console.log(
    'Stock after three orders and one duplicate delivery (mug 100-2-1, kettle 10-1, spoon 60-6):',
  );
  console.log(
    `  ${Object.entries(report.stock)
      .map(([sku, n]) => `${sku}=${n}`)
      .join('  ')}\n`,
  );
  console.log('Dead letters:');
  for (const letter of report.deadLetters)
    console.log(`  [${letter.subscription}] ${letter.code}: ${letter.message}`);
  console.log('\nNotifications sent:');
  for (const line of report.notifications) console.log(`  ${line}`);
  console.log(`\nWorkflows stuck past their deadline: ${report.stuck}`);
} finally {
  await infra.close();
}
