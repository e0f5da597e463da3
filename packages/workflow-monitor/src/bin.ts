#!/usr/bin/env node
// `eda-monitor`: the command line on the monitor's PostgreSQL store.
import { parseArgs } from 'node:util';
import pg from 'pg';
import { MONITOR_CLI_OPTIONS, MONITOR_CLI_USAGE, runMonitorCli } from './monitor-cli.js';
import { createPostgresMonitorStore } from './postgres-monitor-store.js';
import { createMonitorServer } from './web/monitor-server.js';

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
try {
  const store = createPostgresMonitorStore({
    pool,
    ...(schema ? { schema } : {}),
    ...(tablePrefix ? { tablePrefix } : {}),
  });
  if (serving) {
    const port = Number(values.port ?? 8080);
    if (!Number.isSafeInteger(port) || port < 0 || port > 65_535)
      throw new Error(`--port is ${String(values.port)}: give a port number from 0 to 65535.`);
    const server = createMonitorServer({ store });
    await new Promise<void>((resolve) => server.listen(port, resolve));
    console.log(`eda-monitor: serving http://localhost:${port}/`);
    // Runs until stopped; Ctrl-C or SIGTERM closes the server, then the pool.
    await new Promise<void>((resolve) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
    });
    server.close();
  } else {
    process.exitCode = await runMonitorCli(argv, store, (text) => console.log(text));
  }
} catch (error) {
  const missingTable = (error as { cause?: { code?: string } }).cause?.code === '42P01';
  const hint = missingTable
    ? '\n(no monitor tables there: check --schema and --table-prefix, or start the monitor once: it creates them with ensureMonitorSchema)'
    : '';
  console.error(`eda-monitor: ${(error as Error).message}${hint}`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
