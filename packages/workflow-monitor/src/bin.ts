#!/usr/bin/env node
// `eda-monitor`: the command line on the monitor's PostgreSQL store; with --config, also on the
// transport's dead letters.
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createDeadLetterDesk } from './dead-letter-desk.js';
import { MONITOR_CLI_OPTIONS, MONITOR_CLI_USAGE, runMonitorCli } from './monitor-cli.js';
import { loadMonitorConfig, type MonitorConfig } from './monitor-config.js';
import { createPostgresMonitorStore } from './postgres-monitor-store.js';
import { createMonitorServer } from './web/monitor-server.js';
import { createWorkflowMonitor } from './workflow-monitor.js';

const argv = process.argv.slice(2);
const { values, positionals } = parseArgs({
  args: argv,
  options: MONITOR_CLI_OPTIONS,
  allowPositionals: true,
  strict: false,
});
const url = (values['database-url'] as string | undefined) ?? process.env.EDA_MONITOR_DATABASE_URL;
if (!url) {
  console.error(
    `eda-monitor: no database: pass --database-url or set EDA_MONITOR_DATABASE_URL.\n${MONITOR_CLI_USAGE}`,
  );
  process.exit(2);
}
const serving = positionals[0] === 'serve';
const pool = new pg.Pool({ connectionString: url, max: serving ? 4 : 1 });
pool.on('error', () => undefined); // an idle connection dropped: the next query reconnects
const schema = values.schema as string | undefined;
const tablePrefix = values['table-prefix'] as string | undefined;
const configFile = values.config as string | undefined;
let config: MonitorConfig | undefined;
try {
  config = configFile ? await loadMonitorConfig(configFile) : undefined;
  const store = createPostgresMonitorStore({
    pool,
    ...(schema ? { schema } : {}),
    ...(tablePrefix ? { tablePrefix } : {}),
  });
  // Redrives and discards are recorded in their flows, derived with the config's workflows.
  const deadLetters = config?.deadLetters && {
    desk: createDeadLetterDesk({
      admin: config.deadLetters.admin,
      monitor: createWorkflowMonitor({ store, workflows: config.workflows }),
    }),
    subscriptions: config.deadLetters.subscriptions,
  };
  if (serving) {
    const port = Number(values.port ?? 8080);
    if (!Number.isSafeInteger(port) || port < 0 || port > 65_535)
      throw new Error(`--port is ${String(values.port)}: give a port number from 0 to 65535.`);
    const server = createMonitorServer({ store, ...(deadLetters ? { deadLetters } : {}) });
    await new Promise<void>((resolve) => server.listen(port, resolve));
    console.log(`eda-monitor: serving http://localhost:${port}/`);
    // Runs until stopped; Ctrl-C or SIGTERM closes the server, then the pool.
    await new Promise<void>((resolve) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
    });
    server.close();
  } else {
    process.exitCode = await runMonitorCli(
      argv,
      store,
      (text) => console.log(text),
      deadLetters?.desk,
    );
  }
} catch (error) {
  const missingTable = (error as { cause?: { code?: string } }).cause?.code === '42P01';
  const hint = missingTable
    ? '\n(no monitor tables there: check --schema and --table-prefix, or start the monitor once: it creates them with ensureMonitorSchema)'
    : '';
  console.error(`eda-monitor: ${(error as Error).message}${hint}`);
  process.exitCode = 1;
} finally {
  await config?.deadLetters?.admin.close();
  await pool.end();
}
