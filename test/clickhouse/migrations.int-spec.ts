import { ClickHouseConnection, loadMigrations, MigrationError, migrationStatus, parseMigrationFile, runMigrations, sql } from '../../services/core/clickhouse';
import { SINK_TABLES } from '../../services/sink/tables';
import {
  EndedBySymbols,
  EndingKindSymbols,
  FailureReasonSymbols,
  QuestionModeSymbols,
  SpeakerSymbols,
  TurnKindSymbols,
  VerdictSymbols,
} from '../../schemas/generated/events';
import { connectTestDatabase } from './helpers';
import { SINK_TABLE_NAMES, unclassifiedTables } from './table-owners';

/** Migrations against the real server at CLICKHOUSE_URL (the local stack's ClickHouse 18.16). */
describe('ClickHouse migrations on the real server', () => {
  let connection: ClickHouseConnection;
  let database: string;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    ({ connection, database, drop } = await connectTestDatabase('migrations'));
  });
  afterAll(async () => {
    await drop();
  });

  const tablesOf = async (): Promise<string[]> =>
    (await connection.query<{ name: string }>(sql`SELECT name FROM system.tables WHERE database = ${database} ORDER BY name`)).map((r) => r.name);

  it('applies every migration to a fresh database, then applies nothing the second time', async () => {
    const files = loadMigrations();
    expect(await tablesOf()).toEqual([]);

    const first = await runMigrations(connection, { database });
    expect(first.applied.map((m) => m.id)).toEqual(files.map((f) => f.id));
    expect(await tablesOf()).toEqual(expect.arrayContaining(['filter_decisions', 'games', 'schema_migrations', 'turns']));

    const second = await runMigrations(connection, { database });
    expect(second).toEqual({ applied: [], skipped: files.length });

    const status = await migrationStatus(connection, { database });
    expect(status.map((s) => s.state)).toEqual(files.map(() => 'applied'));
    const recorded = await connection.query<{ id: number; checksum: string }>(
      sql`SELECT id, checksum FROM ${connection.table('schema_migrations')} FINAL ORDER BY id`,
    );
    expect(recorded).toEqual(files.map((f) => ({ id: f.id, checksum: f.checksum })));
  });

  it('creates every sink table, and no table that is neither a sink table nor classified (table-owners.ts)', async () => {
    const tables = await tablesOf();
    expect(tables).toEqual(expect.arrayContaining([...SINK_TABLE_NAMES]));
    expect(unclassifiedTables(tables)).toEqual([]);
  });

  it('has exactly the columns the inserts name, plus the DEFAULT ones', async () => {
    for (const spec of SINK_TABLES) {
      const columns = await connection.query<{ name: string; default_kind: string }>(
        sql`SELECT name, default_kind FROM system.columns WHERE database = ${database} AND table = ${spec.name}`,
      );
      const plain = columns.filter((c) => c.default_kind === '').map((c) => c.name);
      const defaulted = columns.filter((c) => c.default_kind !== '').map((c) => c.name);
      expect(plain.sort()).toEqual([...spec.columns].sort());
      expect(defaulted).toContain('inserted_at');
    }
  });

  it('declares every Avro enum symbol in the Enum8 columns', async () => {
    const types = new Map(
      (
        await connection.query<{ key: string; type: string }>(
          sql`SELECT concat(table, '.', name) AS key, type FROM system.columns WHERE database = ${database}`,
        )
      ).map((r) => [r.key, r.type]),
    );
    const enumValues = (key: string): string[] => [...(types.get(key) ?? '').matchAll(/'([^']*)' = -?\d+/g)].map((m) => m[1]!);
    expect(enumValues('games.question_mode')).toEqual([...QuestionModeSymbols]);
    expect(enumValues('games.ending_kind')).toEqual([...EndingKindSymbols]);
    expect(enumValues('games.ended_by')).toEqual([...EndedBySymbols]);
    expect(enumValues('games.verdict')).toEqual([...VerdictSymbols]);
    expect(enumValues('games.failure_reason')).toEqual(['', ...FailureReasonSymbols]);
    expect(enumValues('turns.speaker')).toEqual([...SpeakerSymbols]);
    expect(enumValues('turns.kind')).toEqual([...TurnKindSymbols]);
    expect(enumValues('filter_decisions.verdict')).toEqual([...VerdictSymbols]);
  });

  it('refuses to run when an applied migration changed, before running anything', async () => {
    const files = loadMigrations();
    const edited = files.map((f, i) => (i === 0 ? parseMigrationFile(f.fileName, `${f.source}\n-- edited\n`) : f));
    const next = parseMigrationFile('900_probe.sql', 'CREATE TABLE IF NOT EXISTS {{database}}.probe (x UInt8) ENGINE = Memory;');
    await expect(runMigrations(connection, { database, files: [...edited, next] })).rejects.toThrow(
      new RegExp(`applied migration changed on disk: ${files[0]!.fileName}`),
    );
    await expect(runMigrations(connection, { database, files: [...edited, next] })).rejects.toBeInstanceOf(MigrationError);
    expect(await tablesOf()).not.toContain('probe');
    expect((await migrationStatus(connection, { database, files: edited }))[0]!.state).toBe('changed');
  });

  it('stops at a failing statement, names the file and the statement, and does not record the file', async () => {
    const files = loadMigrations();
    const broken = parseMigrationFile(
      '901_broken.sql',
      'CREATE TABLE IF NOT EXISTS {{database}}.ok_before (x UInt8) ENGINE = Memory;\nCREATE TABLE {{database}}.broken (x NoSuchType) ENGINE = Memory;\nCREATE TABLE {{database}}.never (x UInt8) ENGINE = Memory;',
    );
    const failure = await runMigrations(connection, { database, files: [...files, broken] }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(MigrationError);
    expect((failure as MigrationError).retriable).toBe(false);
    expect((failure as Error).message).toMatch(/^migration 901_broken.sql failed at statement 2\/3 \(line 2\): ClickHouse command failed: Code: 50/);
    expect((failure as Error).message).toContain('NoSuchType');
    const tables = await tablesOf();
    expect(tables).toContain('ok_before');
    expect(tables).not.toContain('never');
    expect((await migrationStatus(connection, { database, files: [...files, broken] })).at(-1)).toMatchObject({ id: 901, state: 'pending' });
  });
});
