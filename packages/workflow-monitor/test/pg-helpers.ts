// Services-test set-up: a unique schema with the monitor's tables, and stores on pools of their
// own (as separate monitor processes have), all closed by `close()`.
import { usePostgresSchema } from '@eda/test-services';
import pg from 'pg';
import {
  createPostgresMonitorStore,
  ensureMonitorSchema,
  type MonitorStore,
} from '../src/index.js';

export interface MonitorDatabase {
  readonly schema: string;
  /** A new store on a pool of its own, as another (or a restarted) monitor opens it. */
  open(): MonitorStore;
  /** Ends every pool and drops the schema. */
  close(): Promise<void>;
}

export async function useMonitorDatabase(label = 'monitor'): Promise<MonitorDatabase> {
  const schema = await usePostgresSchema(label);
  const pools: pg.Pool[] = [];
  const pool = () => {
    const created = new pg.Pool({ ...schema.clientConfig('eda-monitor-test'), max: 4 });
    created.on('error', () => undefined);
    pools.push(created);
    return created;
  };
  await ensureMonitorSchema(pool(), { schema: schema.name });
  return {
    schema: schema.name,
    open: () => createPostgresMonitorStore({ pool: pool(), schema: schema.name }),
    async close() {
      await Promise.all(pools.map((p) => p.end()));
      await schema.cleanup();
    },
  };
}
