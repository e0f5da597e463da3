// What a supervisor of the process set sees from outside the services: it creates the tables
// once (as a deploy's migration would), answers "is the system idle?", and reads the ledger
// the services wrote, so results are counted from the services' own state, not from logs.
import { createPostgresOutboxStore } from '@eda/postgres-outbox';
import { readEndpoints, type ServiceEndpoints } from '@eda/test-services';
import pg from 'pg';
import { readLedgerCounts } from '../postgres-ledger.js';
import { createRealTransports, prepareSchema, schemaOf } from '../real-infrastructure.js';
import { createSystemIdleProbe } from '../system-idle.js';
import { ORDER_FLOW_CONSUMERS } from './services.js';
import { untilAvailable } from './until-available.js';

/** `endpoints`: where the set's services are (a run on its own Kafka cluster passes its own). */
export async function openMonitor(
  namespace: string,
  log: (line: string) => void,
  endpoints: ServiceEndpoints = readEndpoints(),
) {
  const schema = schemaOf(namespace);
  const pool = new pg.Pool({ connectionString: endpoints.postgresUrl, max: 2 });
  await untilAvailable('PostgreSQL to create the tables', () => prepareSchema(pool, namespace), {
    log,
  });
  const { events, commands } = createRealTransports(namespace, undefined, endpoints);
  const outbox = createPostgresOutboxStore({ pool, schema, table: 'outbox', notifications: false });
  const probe = createSystemIdleProbe({
    outbox,
    events,
    commands,
    amqpUrl: endpoints.amqpUrl,
    consumers: ORDER_FLOW_CONSUMERS,
  });
  return {
    probe,
    outbox,
    /** The monitor's own pool and the namespace's schema, for reads of the services' tables. */
    pool,
    schema,
    events,
    commands,
    /** Effects applied per order and `service:effect`, from the services' ledger table. */
    ledger: () => readLedgerCounts(pool, schema),
    async close() {
      await probe.close();
      await events.close();
      await commands.close();
      await outbox.close();
      await pool.end();
    },
  };
}
