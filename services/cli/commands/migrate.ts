import type { Command } from 'commander';
import { clickHouseMigrationStatus, migrateClickHouse } from '../../core/clickhouse';
import { loadConfigOrExit } from '../../core/config';
import { DgError } from '../../core/errors';

/** `dg migrate [--status]`: apply schemas/migrations/*.sql to CLICKHOUSE_URL / CLICKHOUSE_DATABASE, or show what is applied. */
export function register(program: Command): void {
  program
    .command('migrate')
    .description('apply pending ClickHouse migrations (schemas/migrations/NNN_*.sql) to CLICKHOUSE_DATABASE, creating it when missing')
    .option('--status', 'list each migration as applied, pending, changed or missing instead of applying (exit 1 on changed/missing)')
    .option('--database <name>', 'target database (overrides CLICKHOUSE_DATABASE)')
    .option('--json', 'print JSON')
    .action(async (opts: { status?: boolean; database?: string; json?: boolean }) => {
      const config = loadConfigOrExit({ CLICKHOUSE_DATABASE: opts.database });
      const connection = { ...config.clickhouse };
      try {
        if (opts.status) {
          const entries = await clickHouseMigrationStatus(connection);
          if (opts.json) process.stdout.write(JSON.stringify({ database: connection.database, migrations: entries }) + '\n');
          else {
            for (const e of entries) {
              const appliedAt = e.appliedAtMs === null ? '' : new Date(e.appliedAtMs).toISOString();
              process.stdout.write(`${String(e.id).padStart(3, '0')}_${e.name.padEnd(32)} ${e.state.padEnd(8)} ${appliedAt}\n`);
            }
          }
          if (entries.some((e) => e.state === 'changed' || e.state === 'missing')) process.exitCode = 1;
          return;
        }
        const result = await migrateClickHouse(connection, { log: opts.json ? undefined : (line) => process.stdout.write(`${line}\n`) });
        if (opts.json) process.stdout.write(JSON.stringify({ database: connection.database, ...result }) + '\n');
      } catch (err) {
        if (!(err instanceof DgError)) throw err;
        process.stderr.write(`dg migrate: ${err.message}\n`);
        process.exitCode = 1;
      }
    });
}
