import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DgError, isRetriable } from '../errors';
import { repoRoot } from '../config/repo-root';
import { createLogger, Logger } from '../logging';
import { SqlExecutor } from './client';
import { splitSqlStatements, SqlStatement } from './split-statements';
import { identifier, quoteIdentifier, sql, table } from './sql';

/**
 * Plain-SQL ClickHouse migrations: schemas/migrations/NNN_name.sql, numbered, append-only, never
 * edited once applied (the runner refuses a changed checksum). A file holds one or more statements
 * separated by `;`. Table names are written `{{database}}.name`; the runner replaces the placeholder
 * with the target database as a quoted identifier, so the files carry no database name and the
 * same files run against any database, on a server or in chdb.
 *
 * ClickHouse DDL is not transactional: a file is recorded as applied only after all its statements
 * succeed, and a file that failed half-way runs again from its first statement on the next run —
 * so statements must be re-runnable (CREATE ... IF NOT EXISTS, ADD COLUMN IF NOT EXISTS, ...).
 */

export const DATABASE_PLACEHOLDER = '{{database}}';
export const MIGRATIONS_TABLE = 'schema_migrations';
const FILE_NAME = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

export function defaultMigrationsDir(): string {
  return join(repoRoot(), 'schemas', 'migrations');
}

export interface MigrationFile {
  id: number;
  name: string;
  fileName: string;
  /** sha256 (hex) of the file with line endings normalised to \n. */
  checksum: string;
  source: string;
}

export interface AppliedMigration {
  id: number;
  name: string;
  checksum: string;
  applied_at_ms: number;
}

export type MigrationState = 'applied' | 'pending' | 'changed' | 'missing';

export interface MigrationStatusEntry {
  id: number;
  name: string;
  state: MigrationState;
  appliedAtMs: number | null;
}

/** Not retriable, except when a statement failed for a retriable reason (server unreachable). */
export class MigrationError extends DgError {
  constructor(message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, options, { code: 'MIGRATION', retriable: false });
  }
}

export function migrationChecksum(source: string): string {
  return createHash('sha256').update(source.replace(/\r\n/g, '\n'), 'utf8').digest('hex');
}

/** Parses a file name and content; refuses names that do not follow NNN_name.sql. */
export function parseMigrationFile(fileName: string, source: string): MigrationFile {
  const match = FILE_NAME.exec(fileName);
  if (!match) throw new MigrationError(`migration file ${fileName} does not match NNN_name.sql (lowercase name, digits and _)`);
  return { id: Number(match[1]), name: match[2]!, fileName, checksum: migrationChecksum(source), source };
}

/** Every *.sql file of `dir`, ordered by id; duplicate ids are refused. */
export function loadMigrations(dir: string = defaultMigrationsDir()): MigrationFile[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => parseMigrationFile(f, readFileSync(join(dir, f), 'utf8')));
  return sortMigrations(files);
}

export function sortMigrations(files: MigrationFile[]): MigrationFile[] {
  const sorted = [...files].sort((a, b) => a.id - b.id);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.id === sorted[i - 1]!.id)
      throw new MigrationError(`two migrations share id ${sorted[i]!.id}: ${sorted[i - 1]!.fileName} and ${sorted[i]!.fileName}`);
  }
  return sorted;
}

/** The statements of a migration with the database placeholder replaced. */
export function migrationStatements(file: MigrationFile, database: string): SqlStatement[] {
  const quoted = quoteIdentifier(database);
  return splitSqlStatements(file.source).map((s) => ({ ...s, sql: s.sql.split(DATABASE_PLACEHOLDER).join(quoted) }));
}

/** Applied vs on-disk, one entry per id, in id order. */
export function migrationStates(files: readonly MigrationFile[], applied: readonly AppliedMigration[]): MigrationStatusEntry[] {
  const appliedById = new Map(applied.map((a) => [a.id, a]));
  const entries: MigrationStatusEntry[] = files.map((f) => {
    const record = appliedById.get(f.id);
    if (!record) return { id: f.id, name: f.name, state: 'pending', appliedAtMs: null };
    return { id: f.id, name: f.name, state: record.checksum === f.checksum ? 'applied' : 'changed', appliedAtMs: record.applied_at_ms };
  });
  const onDisk = new Set(files.map((f) => f.id));
  for (const a of applied) if (!onDisk.has(a.id)) entries.push({ id: a.id, name: a.name, state: 'missing', appliedAtMs: a.applied_at_ms });
  return entries.sort((a, b) => a.id - b.id);
}

/**
 * The files to apply, in order. Refuses — before anything runs — an applied file whose content
 * changed, an applied migration whose file is gone, and a pending file numbered below an applied
 * one (it was not appended).
 */
export function planMigrations(files: readonly MigrationFile[], applied: readonly AppliedMigration[]): MigrationFile[] {
  const states = migrationStates(files, applied);
  const changed = states.filter((s) => s.state === 'changed');
  if (changed.length > 0) {
    throw new MigrationError(
      `applied migration${changed.length > 1 ? 's' : ''} changed on disk: ${changed.map((c) => fileLabel(files, c.id)).join(', ')}. ` +
        'Migrations are append-only: restore the applied file and add a new NNN_*.sql with the change.',
    );
  }
  const missing = states.filter((s) => s.state === 'missing');
  if (missing.length > 0) {
    throw new MigrationError(
      `applied migration${missing.length > 1 ? 's' : ''} missing on disk: ${missing.map((m) => `${pad(m.id)}_${m.name}.sql`).join(', ')}`,
    );
  }
  const highestApplied = Math.max(-1, ...applied.map((a) => a.id));
  const pending = files.filter((f) => states.find((s) => s.id === f.id)?.state === 'pending');
  const outOfOrder = pending.filter((f) => f.id < highestApplied);
  if (outOfOrder.length > 0) {
    throw new MigrationError(
      `pending migration${outOfOrder.length > 1 ? 's' : ''} ${outOfOrder.map((f) => f.fileName).join(', ')} numbered below the applied ${pad(highestApplied)}: ` +
        'new migrations must be numbered after the last applied one',
    );
  }
  return pending;
}

export interface MigrateOptions {
  database: string;
  /** Default: schemas/migrations of the repository. */
  dir?: string;
  /** Default: the files of `dir`. */
  files?: MigrationFile[];
  logger?: Logger;
  now?: () => number;
}

export interface MigrateResult {
  applied: Array<{ id: number; name: string; statements: number; ms: number }>;
  skipped: number;
}

/**
 * Creates the database and the bookkeeping table when missing, then applies pending migrations in
 * order and records each (id, name, checksum, applied_at). Safe to run again: applied files are
 * skipped. Stops at the first failing statement with an error naming the file, its line and the
 * statement; the failing file is not recorded.
 */
export async function runMigrations(executor: SqlExecutor, options: MigrateOptions): Promise<MigrateResult> {
  const log = options.logger ?? createLogger('migrate');
  const now = options.now ?? Date.now;
  const files = options.files ?? loadMigrations(options.dir);
  const database = options.database;
  await ensureMigrationsTable(executor, database);
  const applied = await readAppliedMigrations(executor, database);
  const pending = planMigrations(files, applied);
  const result: MigrateResult = { applied: [], skipped: files.length - pending.length };

  for (const file of pending) {
    const started = now();
    const statements = migrationStatements(file, database);
    for (const [index, statement] of statements.entries()) {
      try {
        await executor.command(statement.sql);
      } catch (err) {
        throw new MigrationError(
          `migration ${file.fileName} failed at statement ${index + 1}/${statements.length} (line ${statement.line}): ${err instanceof Error ? err.message : String(err)}\n--- statement ---\n${statement.sql}`,
          { cause: err, retriable: isRetriable(err) },
        );
      }
    }
    const appliedAt = now();
    await executor.command(
      sql`INSERT INTO ${table(database, MIGRATIONS_TABLE)} (id, name, checksum, applied_at_ms) VALUES (${file.id}, ${file.name}, ${file.checksum}, ${appliedAt})`,
    );
    const ms = appliedAt - started;
    result.applied.push({ id: file.id, name: file.name, statements: statements.length, ms });
    log.debug('migration applied', { database, migration: file.fileName, statements: statements.length, ms });
  }
  return result;
}

/** Status of every migration for `database` (the database need not exist yet). */
export async function migrationStatus(executor: SqlExecutor, options: Pick<MigrateOptions, 'database' | 'dir' | 'files'>): Promise<MigrationStatusEntry[]> {
  const files = options.files ?? loadMigrations(options.dir);
  const exists = await executor.query<{ n: number }>(
    sql`SELECT count() AS n FROM system.tables WHERE database = ${options.database} AND name = ${MIGRATIONS_TABLE}`,
  );
  const applied = Number(exists[0]?.n ?? 0) > 0 ? await readAppliedMigrations(executor, options.database) : [];
  return migrationStates(files, applied);
}

async function ensureMigrationsTable(executor: SqlExecutor, database: string): Promise<void> {
  await executor.command(sql`CREATE DATABASE IF NOT EXISTS ${identifier(database)}`);
  // ReplacingMergeTree: two runners racing on the same file record it twice; FINAL shows it once.
  await executor.command(sql`CREATE TABLE IF NOT EXISTS ${table(database, MIGRATIONS_TABLE)}
(
    id UInt32,
    name String,
    checksum String,
    applied_at_ms UInt64,
    applied_at DateTime('UTC') DEFAULT toDateTime(intDiv(applied_at_ms, 1000), 'UTC')
)
ENGINE = ReplacingMergeTree(applied_at_ms)
ORDER BY id`);
}

export async function readAppliedMigrations(executor: SqlExecutor, database: string): Promise<AppliedMigration[]> {
  const rows = await executor.query<AppliedMigration>(
    sql`SELECT id, name, checksum, applied_at_ms FROM ${table(database, MIGRATIONS_TABLE)} FINAL ORDER BY id`,
  );
  return rows.map((r) => ({ id: Number(r.id), name: r.name, checksum: r.checksum, applied_at_ms: Number(r.applied_at_ms) }));
}

function pad(id: number): string {
  return String(id).padStart(3, '0');
}

function fileLabel(files: readonly MigrationFile[], id: number): string {
  return files.find((f) => f.id === id)?.fileName ?? pad(id);
}
