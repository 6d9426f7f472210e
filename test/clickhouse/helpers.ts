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

/** Polls `probe` until it returns a value that passes `accept`; throws the last value at the deadline. */
export async function waitFor<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
