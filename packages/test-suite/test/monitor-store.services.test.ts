// The monitor store contract against @eda/workflow-monitor's PostgreSQL store. It runs here, not
// in that package, because that package cannot depend on this one: this one's build needs the
// contract's types from it.
import { usePostgresSchema } from '@eda/test-services';
import { createPostgresMonitorStore, ensureMonitorSchema } from '@eda/workflow-monitor';
import pg from 'pg';
import { describeMonitorStoreContract } from '../src/index.js';

describeMonitorStoreContract('postgres monitor store', {
  capabilities: { persistent: true },
  async createEnvironment() {
    const schema = await usePostgresSchema('monitor_contract');
    const pools: pg.Pool[] = [];
    // Each store on a pool of its own, as a second or restarted monitor process has.
    const open = () => {
      const pool = new pg.Pool({ ...schema.clientConfig('eda-monitor-contract'), max: 4 });
      pool.on('error', () => undefined);
      pools.push(pool);
      return createPostgresMonitorStore({ pool, schema: schema.name });
    };
    const store = open();
    await ensureMonitorSchema(pools[0]!, { schema: schema.name });
    return {
      store,
      open: async () => open(),
      async cleanup() {
        await Promise.all(pools.map((p) => p.end()));
        await schema.cleanup();
      },
    };
  },
});
