// `pnpm demo`: runs the order flow on embedded (in-memory) infrastructure, or with `--real` on
// the real services, and prints a timeline per order.
import { createEmbeddedInfrastructure } from './infrastructure.js';
import { runOrderFlow } from './order-flow.js';

// `--real` (or EDA_DEMO_INFRA=real) runs the same services on Kafka, RabbitMQ, PostgreSQL, Redis and S3.
const real = process.argv.includes('--real') || process.env.EDA_DEMO_INFRA === 'real';
// Loaded only when asked for, so the embedded demo needs no broker client at all.
const infra = real
  ? await (await import('./real-infrastructure.js')).createRealInfrastructure()
  : createEmbeddedInfrastructure();
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
  console.log(
    "Inventory's stock streams (internal domain events, never published; the outbox got inventory.stock-availability-changed { sku, available } for each, versioned by the stream):",
  );
  for (const { sku, events } of report.stockStreams)
    console.log(
      `  stock-${sku}: ${events.map((e) => `v${e.version} ${e.type} ${JSON.stringify(e.data)}`).join(', ')}`,
    );
  console.log('');
  console.log('Dead letters:');
  for (const letter of report.deadLetters) console.log(`  [${letter.service}] ${letter.reason}`);
  console.log('\nNotifications sent:');
  for (const line of report.notifications) console.log(`  ${line}`);
  console.log(`\nWorkflows stuck past their deadline: ${report.stuck}`);
  if (report.monitored) {
    console.log(
      `\norder-1001 as the workflow monitor sees it (${report.monitored.state}), a Mermaid sequence diagram:\n`,
    );
    console.log(report.monitored.diagram);
  }
} finally {
  await infra.close();
}
