import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'chdb';
import { PINNED_SETTINGS, qualifiedName, quoteIdentifier, SqlExecutor, SqlText, toClickHouseError } from '../../services/core/clickhouse';

/**
 * The modern engine in-process: a chdb Session (ClickHouse 26.x) on a temporary directory, behind
 * the same SqlExecutor interface as the HTTP connection, with the same pinned settings.
 */
export class ChdbExecutor implements SqlExecutor {
  private readonly dir = mkdtempSync(join(tmpdir(), 'dg-chdb-'));
  private readonly session = new Session(this.dir);

  constructor(readonly database: string) {
    for (const [name, value] of Object.entries(PINNED_SETTINGS)) {
      this.session.query(`SET ${quoteIdentifier(name)} = ${typeof value === 'number' ? value : `'${value}'`}`);
    }
  }

  version(): string {
    return (JSON.parse(this.session.query('SELECT version() AS v', 'JSONEachRow')) as { v: string }).v;
  }

  async command(statement: SqlText): Promise<void> {
    try {
      this.session.query(String(statement), 'TabSeparated');
    } catch (err) {
      throw toClickHouseError(err, 'command', String(statement));
    }
  }

  async query<T>(statement: SqlText): Promise<T[]> {
    let text: string;
    try {
      text = this.session.query(String(statement), 'JSONEachRow');
    } catch (err) {
      throw toClickHouseError(err, 'query', String(statement));
    }
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as T);
  }

  /** Same contract as ClickHouseConnection.insert: JSONEachRow with explicit columns. */
  async insert(table: string, rows: readonly object[], columns: readonly string[]): Promise<void> {
    if (rows.length === 0) return;
    const statement = `INSERT INTO ${qualifiedName(this.database, table)} (${columns.map(quoteIdentifier).join(', ')}) FORMAT JSONEachRow\n${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
    try {
      this.session.query(statement, 'TabSeparated');
    } catch (err) {
      throw toClickHouseError(err, 'insert', `INSERT INTO ${table}`);
    }
  }

  close(): void {
    this.session.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
