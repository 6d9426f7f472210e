import { randomBytes } from 'node:crypto';
import { ClickHouseConnection, identifier, sql } from '../../services/core/clickhouse';
import { loadConfig } from '../../services/core/config';

/** A database name no other test run uses. */
export function uniqueDatabaseName(label: string): string {
  return `dg_test_${label}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

/**
 * A connection to the real server at CLICKHOUSE_URL (default http://127.0.0.1:8123) for a fresh,
 * uniquely named database, after polling until the server answers. `drop()` removes the database.
 */
export async function connectTestDatabase(label: string): Promise<{ connection: ClickHouseConnection; database: string; drop: () => Promise<void> }> {
  const config = loadConfig();
  const database = uniqueDatabaseName(label);
  const connection = new ClickHouseConnection({ ...config.clickhouse, database });
  await connection.waitUntilReady({ timeoutMs: 30_000 });
  return {
    connection,
    database,
    drop: async () => {
      try {
        await connection.command(sql`DROP DATABASE IF EXISTS ${identifier(database)}`);
      } finally {
        await connection.close();
      }
    },
  };
}
