import { createLogger } from '../logging';
import { ClickHouseConnection, ClickHouseConnectionOptions } from './client';
import { MigrateResult, migrationStatus, MigrationStatusEntry, runMigrations } from './migrations';

export interface MigrateClickHouseOptions {
  /** How long to wait for the server to answer first. Default 30 s. */
  readyTimeoutMs?: number;
  /** Default: schemas/migrations. */
  dir?: string;
  /** One line per applied migration (e.g. `dg stack up` progress). */
  log?: (line: string) => void;
}

/**
 * Connects, waits for the server, applies pending migrations and disconnects: what `dg migrate` and
 * `dg stack up` run. Idempotent.
 */
export async function migrateClickHouse(connection: ClickHouseConnectionOptions, options: MigrateClickHouseOptions = {}): Promise<MigrateResult> {
  const client = new ClickHouseConnection(connection);
  try {
    await client.waitUntilReady({ timeoutMs: options.readyTimeoutMs ?? 30_000 });
    const result = await runMigrations(client, {
      database: connection.database,
      logger: createLogger('migrate'),
      ...(options.dir ? { dir: options.dir } : {}),
    });
    for (const m of result.applied)
      options.log?.(
        `applied migration ${String(m.id).padStart(3, '0')}_${m.name} to ${connection.database} (${m.statements} statement${m.statements === 1 ? '' : 's'}, ${m.ms} ms)`,
      );
    options.log?.(`ClickHouse ${connection.database}: ${result.applied.length} applied, ${result.skipped} already applied`);
    return result;
  } finally {
    await client.close();
  }
}

export async function clickHouseMigrationStatus(
  connection: ClickHouseConnectionOptions,
  options: Pick<MigrateClickHouseOptions, 'dir' | 'readyTimeoutMs'> = {},
): Promise<MigrationStatusEntry[]> {
  const client = new ClickHouseConnection(connection);
  try {
    await client.waitUntilReady({ timeoutMs: options.readyTimeoutMs ?? 5_000 });
    return await migrationStatus(client, { database: connection.database, ...(options.dir ? { dir: options.dir } : {}) });
  } finally {
    await client.close();
  }
}
