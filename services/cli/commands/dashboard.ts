import type { Command } from 'commander';
import { integerArg } from '../args';
import { ClickHouseConnection, migrateClickHouse } from '../../core/clickhouse';
import { loadConfigOrExit, type DgConfig } from '../../core/config';
import { requiredToken } from '../../dashboard/auth';
import { startDashboardServer, type DashboardServer } from '../../dashboard/server';
import { waitForStopSignal } from '../signals';

/** Starts the dashboard for `config` (also used by `dg start`); close() stops it and its ClickHouse connection. */
export async function startDashboard(config: DgConfig, overrides: { host?: string; port?: number } = {}): Promise<DashboardServer> {
  const host = overrides.host ?? config.dashboard.host;
  // Refuse a tokenless non-loopback bind before touching anything.
  requiredToken(host, config.dashboard.token);
  // The per-minute aggregate is a migration of its own: apply what is missing before serving.
  await migrateClickHouse({ ...config.clickhouse });
  const ch = new ClickHouseConnection({ ...config.clickhouse });
  try {
    const server = await startDashboardServer({
      ch,
      database: config.clickhouse.database,
      datasetsDir: config.paths.datasetsDir,
      host,
      port: overrides.port ?? config.dashboard.port,
      token: config.dashboard.token,
    });
    return {
      url: server.url,
      port: server.port,
      close: async () => {
        await server.close();
        await ch.close();
      },
    };
  } catch (err) {
    await ch.close();
    throw err;
  }
}

/** `dg dashboard`: the web dashboard and its JSON API until Ctrl-C. */
export function register(program: Command): void {
  program
    .command('dashboard')
    .description('web dashboard: live success rates per iteration, iteration comparison and a dialog browser (JSON API under /api)')
    .option('--host <host>', 'address to bind (DG_DASHBOARD_HOST, default 127.0.0.1; beyond loopback DG_DASHBOARD_TOKEN is required)')
    .option('--port <port>', 'port (DG_DASHBOARD_PORT, default 8088; 0 = any free port)', integerArg('--port', 0))
    .action(async (opts: { host?: string; port?: number }) => {
      const config = loadConfigOrExit({ DG_DASHBOARD_HOST: opts.host, DG_DASHBOARD_PORT: opts.port });
      const server = await startDashboard(config);
      // One line on stdout a script (or a test) can read the address from.
      process.stdout.write(`dashboard: ${server.url}/\n`);
      await waitForStopSignal();
      await server.close();
    });
}
