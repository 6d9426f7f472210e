import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../logging';
import { SqlExecutor, SqlText } from './client';
import {
  AppliedMigration,
  loadMigrations,
  migrationChecksum,
  MigrationError,
  migrationStatements,
  migrationStates,
  parseMigrationFile,
  planMigrations,
  runMigrations,
  sortMigrations,
} from './migrations';

const file = (fileName: string, source = 'SELECT 1;') => parseMigrationFile(fileName, source);
const applied = (f: ReturnType<typeof file>, checksum = f.checksum): AppliedMigration => ({ id: f.id, name: f.name, checksum, applied_at_ms: 1 });
const silent = createLogger('migrate-test');
beforeAll(() => jest.spyOn(silent, 'debug').mockImplementation(() => undefined));

describe('migration files', () => {
  it('parses NNN_name.sql and hashes the content with normalised line endings', () => {
    const f = file('007_add_things.sql', 'CREATE TABLE x;\r\n');
    expect(f).toMatchObject({ id: 7, name: 'add_things', fileName: '007_add_things.sql' });
    expect(f.checksum).toBe(migrationChecksum('CREATE TABLE x;\n'));
    expect(f.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(migrationChecksum('a')).not.toBe(migrationChecksum('a '));
  });

  it.each(['7_short.sql', '001-games.sql', '001_Games.sql', '001_games.SQL.sql', 'games.sql'])('refuses the name %s', (name) => {
    expect(() => file(name)).toThrow(MigrationError);
  });

  it('orders by id numerically and refuses duplicate ids', () => {
    expect(sortMigrations([file('010_c.sql'), file('002_b.sql'), file('001_a.sql')]).map((f) => f.id)).toEqual([1, 2, 10]);
    expect(() => sortMigrations([file('001_a.sql'), file('001_b.sql')])).toThrow(/two migrations share id 1: 001_a.sql and 001_b.sql/);
  });

  it('loads a directory, ignoring files that are not .sql', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dg-migrations-'));
    try {
      writeFileSync(join(dir, '002_b.sql'), 'SELECT 2;');
      writeFileSync(join(dir, '001_a.sql'), 'SELECT 1;');
      writeFileSync(join(dir, 'README.md'), '# notes');
      expect(loadMigrations(dir).map((f) => f.fileName)).toEqual(['001_a.sql', '002_b.sql']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loads the repository migrations', () => {
    const files = loadMigrations();
    expect(files.length).toBeGreaterThanOrEqual(3);
    expect(files.map((f) => f.name).slice(0, 3)).toEqual(['games', 'turns', 'filter_decisions']);
    for (const f of files) expect(migrationStatements(f, 'db').length).toBeGreaterThan(0);
  });

  it('replaces the database placeholder with a quoted identifier in every statement', () => {
    const f = file('001_a.sql', 'CREATE TABLE {{database}}.a (x UInt8) ENGINE = Memory;\nINSERT INTO {{database}}.a SELECT 1 FROM {{database}}.a;');
    expect(migrationStatements(f, 'dg_test').map((s) => s.sql)).toEqual([
      'CREATE TABLE `dg_test`.a (x UInt8) ENGINE = Memory',
      'INSERT INTO `dg_test`.a SELECT 1 FROM `dg_test`.a',
    ]);
    expect(() => migrationStatements(f, 'bad-name')).toThrow(/invalid SQL identifier/);
  });
});

describe('planMigrations', () => {
  const a = file('001_a.sql', 'SELECT 1;');
  const b = file('002_b.sql', 'SELECT 2;');
  const c = file('003_c.sql', 'SELECT 3;');

  it('returns pending files in order and skips applied ones', () => {
    expect(planMigrations([a, b, c], [])).toEqual([a, b, c]);
    expect(planMigrations([a, b, c], [applied(a)])).toEqual([b, c]);
    expect(planMigrations([a, b, c], [applied(a), applied(b), applied(c)])).toEqual([]);
  });

  it('refuses an applied file whose checksum changed', () => {
    expect(() => planMigrations([a, b], [applied(a, 'f'.repeat(64)), applied(b)])).toThrow(/applied migration changed on disk: 001_a.sql/);
  });

  it('refuses an applied migration whose file is gone', () => {
    expect(() => planMigrations([a], [applied(a), applied(b)])).toThrow(/missing on disk: 002_b.sql/);
  });

  it('refuses a pending file numbered below an applied one', () => {
    expect(() => planMigrations([a, b, c], [applied(a), applied(c)])).toThrow(/002_b.sql numbered below the applied 003/);
  });

  it('reports states for --status', () => {
    expect(migrationStates([a, b], [applied(a), { ...applied(c), name: 'c' }]).map((s) => [s.id, s.state])).toEqual([
      [1, 'applied'],
      [2, 'pending'],
      [3, 'missing'],
    ]);
    expect(migrationStates([a], [applied(a, 'x')])[0]!.state).toBe('changed');
  });
});

/** Keeps schema_migrations rows in memory and fails any statement containing `failOn`. */
class FakeExecutor implements SqlExecutor {
  readonly statements: string[] = [];
  readonly rows: AppliedMigration[] = [];
  failOn: string | undefined;

  async command(statement: SqlText): Promise<void> {
    const text = String(statement);
    if (this.failOn && text.includes(this.failOn)) throw new Error(`Code: 62, e.displayText() = DB::Exception: Syntax error near ${this.failOn}`);
    this.statements.push(text);
    const insert = /INSERT INTO `\w+`\.`schema_migrations` \(id, name, checksum, applied_at_ms\) VALUES \((\d+), '(\w+)', '(\w+)', (\d+)\)/.exec(text);
    if (insert) this.rows.push({ id: Number(insert[1]), name: insert[2]!, checksum: insert[3]!, applied_at_ms: Number(insert[4]) });
  }

  async query<T>(statement: SqlText): Promise<T[]> {
    if (!String(statement).includes('schema_migrations')) throw new Error(`unexpected query ${String(statement)}`);
    return this.rows as T[];
  }
}

describe('runMigrations', () => {
  const files = [
    file('001_a.sql', 'CREATE TABLE {{database}}.a (x UInt8) ENGINE = Memory;\nCREATE TABLE {{database}}.a2 (x UInt8) ENGINE = Memory;'),
    file('002_b.sql', '-- b\nCREATE TABLE {{database}}.b (x UInt8) ENGINE = Memory;'),
  ];

  it('creates database and bookkeeping table, applies in order, records each file, and applies nothing the second time', async () => {
    const executor = new FakeExecutor();
    const first = await runMigrations(executor, { database: 'db', files, logger: silent, now: () => 1000 });
    expect(first.applied.map((m) => [m.id, m.statements])).toEqual([
      [1, 2],
      [2, 1],
    ]);
    expect(executor.statements[0]).toBe('CREATE DATABASE IF NOT EXISTS `db`');
    expect(executor.statements[1]).toMatch(/^CREATE TABLE IF NOT EXISTS `db`.`schema_migrations`/);
    const heads = executor.statements.slice(2).map((s) => /(CREATE TABLE `db`\.\w+|INSERT INTO `db`\.`schema_migrations`)/.exec(s)?.[1]);
    expect(heads).toEqual([
      'CREATE TABLE `db`.a',
      'CREATE TABLE `db`.a2',
      'INSERT INTO `db`.`schema_migrations`',
      'CREATE TABLE `db`.b',
      'INSERT INTO `db`.`schema_migrations`',
    ]);
    expect(executor.statements[5]).toBe('-- b\nCREATE TABLE `db`.b (x UInt8) ENGINE = Memory');
    expect(executor.rows.map((r) => [r.id, r.name, r.checksum])).toEqual(files.map((f) => [f.id, f.name, f.checksum]));

    const before = executor.statements.length;
    const second = await runMigrations(executor, { database: 'db', files, logger: silent });
    expect(second).toEqual({ applied: [], skipped: 2 });
    expect(executor.statements.length - before).toBe(2);
  });

  it('stops at the first failing statement, names file, line and statement, and records nothing for that file', async () => {
    const executor = new FakeExecutor();
    executor.failOn = 'a2';
    const run = runMigrations(executor, { database: 'db', files, logger: silent });
    await expect(run).rejects.toThrow(MigrationError);
    await expect(runMigrations(executor, { database: 'db', files, logger: silent })).rejects.toThrow(
      /migration 001_a.sql failed at statement 2\/2 \(line 2\): .*Syntax error near a2[\s\S]*--- statement ---\nCREATE TABLE `db`.a2/,
    );
    expect(executor.rows).toEqual([]);
    expect(executor.statements.some((s) => s.includes('`db`.b'))).toBe(false);

    executor.failOn = undefined;
    expect((await runMigrations(executor, { database: 'db', files, logger: silent })).applied.map((m) => m.id)).toEqual([1, 2]);
  });

  it('refuses to run anything when an applied file changed', async () => {
    const executor = new FakeExecutor();
    await runMigrations(executor, { database: 'db', files, logger: silent });
    const edited = [files[0]!, file('002_b.sql', '-- b edited\nCREATE TABLE {{database}}.b (x UInt8) ENGINE = Memory;')];
    const before = executor.statements.length;
    await expect(runMigrations(executor, { database: 'db', files: [...edited, file('003_c.sql', 'SELECT 3;')], logger: silent })).rejects.toThrow(
      /applied migration changed on disk: 002_b.sql/,
    );
    expect(executor.statements.slice(before).some((s) => s.includes('SELECT 3'))).toBe(false);
  });
});
