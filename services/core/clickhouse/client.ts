import { ClickHouseClient, ClickHouseLogLevel, ClickHouseSettings, createClient } from '@clickhouse/client';
import { createLogger, Logger } from '../logging';
import { toClickHouseError } from './errors';
import type { TableSpec } from './tables';
import { identifier, qualifiedName, quoteIdentifier, sql, SqlFragment, table as tableFragment } from './sql';

/** SQL as a plain string (constant or migration text) or a fragment built with the `sql` tag. */
export type SqlText = string | SqlFragment;

/**
 * What migrations and analytics need from an engine: run a statement, read JSON rows. Implemented by
 * ClickHouseConnection (HTTP) and, in tests, by an adapter over chdb (in-process modern engine).
 */
export interface SqlExecutor {
  command(statement: SqlText): Promise<void>;
  query<T>(statement: SqlText): Promise<T[]>;
}

export interface ClickHouseConnectionOptions {
  /** http(s)://host:port */
  url: string;
  /** Database every table of ours lives in; created by ensureDatabase() / runMigrations(). */
  database: string;
  user?: string;
  password?: string;
  /** Per request. Default 30 s. */
  requestTimeoutMs?: number;
  /** Shown in the server's query log. Default `dialog-games`. */
  application?: string;
}

/**
 * Settings sent with every request, identical on 18.16 and modern servers (whose defaults differ):
 * 64-bit integers as JSON numbers (all of ours — epoch ms, counts, offsets — are far below 2^53),
 * and the one DateTime text format both accept. Inserts write DateTime columns through DEFAULT
 * expressions over the *_ms columns, so parsing never depends on the server's time zone.
 */
export const PINNED_SETTINGS = {
  output_format_json_quote_64bit_integers: 0,
  date_time_input_format: 'basic',
} as const satisfies ClickHouseSettings;

export interface QueryOptions {
  /** Buffer the whole result on the server so an error mid-result fails the request. Default true. */
  waitEndOfQuery?: boolean;
  /** Extra per-query settings on top of the pinned ones. */
  settings?: ClickHouseSettings;
  queryId?: string;
}

/**
 * The project's ClickHouse client: the official HTTP client with pinned settings, JSONEachRow in
 * and out, explicit insert columns, and every failure turned into a ClickHouseRequestError that
 * carries a retry decision. Table names are always qualified with `database`, so the connection
 * itself has no default database and can create it.
 */
export class ClickHouseConnection implements SqlExecutor {
  readonly database: string;
  readonly url: string;
  private readonly client: ClickHouseClient;
  private readonly log: Logger;

  constructor(options: ClickHouseConnectionOptions, logger: Logger = createLogger('clickhouse')) {
    quoteIdentifier(options.database);
    this.database = options.database;
    this.url = options.url;
    this.log = logger;
    this.client = createClient({
      url: options.url,
      username: options.user ?? 'default',
      password: options.password ?? '',
      application: options.application ?? 'dialog-games',
      request_timeout: options.requestTimeoutMs ?? 30_000,
      clickhouse_settings: { ...PINNED_SETTINGS },
      // Failures are thrown to the caller with a retry decision; the client's own error log would duplicate them.
      log: { level: ClickHouseLogLevel.OFF },
    });
  }

  /** `database`.`name` as a fragment for the `sql` tag. */
  table(name: string): SqlFragment {
    return tableFragment(this.database, name);
  }

  /** A real round trip (`SELECT 1` with credentials), unlike `/ping` which answers even with a wrong password. */
  async ping(): Promise<void> {
    const result = await this.client.ping({ select: true });
    if (!result.success) throw toClickHouseError(result.error, 'ping');
  }

  /** Polls ping until it succeeds; throws the last error when the deadline passes. */
  async waitUntilReady(options: { timeoutMs: number; intervalMs?: number }): Promise<void> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      try {
        await this.ping();
        return;
      } catch (err) {
        if (Date.now() >= deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200));
      }
    }
  }

  async ensureDatabase(): Promise<void> {
    await this.command(sql`CREATE DATABASE IF NOT EXISTS ${identifier(this.database)}`);
  }

  async command(statement: SqlText, options: Pick<QueryOptions, 'settings' | 'queryId'> = {}): Promise<void> {
    const text = String(statement);
    try {
      await this.client.command({ query: text, ...requestParams(options) });
    } catch (err) {
      throw toClickHouseError(err, 'command', text);
    }
  }

  /** Runs a SELECT and returns its rows (JSONEachRow). */
  async query<T>(statement: SqlText, options: QueryOptions = {}): Promise<T[]> {
    const text = String(statement);
    const settings: ClickHouseSettings = { ...(options.waitEndOfQuery === false ? {} : { wait_end_of_query: 1 }), ...options.settings };
    try {
      const result = await this.client.query({ query: text, format: 'JSONEachRow', ...requestParams({ ...options, settings }) });
      return await result.json<T>();
    } catch (err) {
      throw toClickHouseError(err, 'query', text);
    }
  }

  /**
   * Inserts rows (JSONEachRow) into `table` of this database, naming `columns` explicitly: columns
   * left out take their DEFAULT expression, and a row key not in the list is an error instead of
   * silently landing in the wrong column.
   */
  async insert(table: string, rows: readonly object[], columns: readonly string[]): Promise<void> {
    if (rows.length === 0) return;
    if (columns.length === 0) throw toClickHouseError(new Error(`insert into ${table} without columns`), 'insert');
    const target = qualifiedName(this.database, table);
    try {
      await this.client.insert({
        table: target,
        values: rows as object[],
        format: 'JSONEachRow',
        columns: columns.map(quoteIdentifier) as [string, ...string[]],
      });
    } catch (err) {
      throw toClickHouseError(err, 'insert', `INSERT INTO ${target} (${columns.join(', ')}) — ${rows.length} rows`);
    }
    this.log.trace('inserted', { table: target, rows: rows.length });
  }

  /** Typed insert of one of our tables: the spec names the columns. */
  async insertInto<Row extends object>(spec: TableSpec<Row>, rows: readonly Row[]): Promise<void> {
    await this.insert(spec.name, rows, spec.columns);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

function requestParams(options: Pick<QueryOptions, 'settings' | 'queryId'>): { clickhouse_settings?: ClickHouseSettings; query_id?: string } {
  return {
    ...(options.settings ? { clickhouse_settings: { ...PINNED_SETTINGS, ...options.settings } } : {}),
    ...(options.queryId ? { query_id: options.queryId } : {}),
  };
}
