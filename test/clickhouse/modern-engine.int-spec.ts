import { loadMigrations, migrationStatus, parseMigrationFile, runMigrations, sql, table } from '../../services/core/clickhouse';
import { FILTER_DECISIONS_TABLE, GAMES_TABLE, SINK_TABLES, TURNS_TABLE } from '../../services/sink/tables';
import { rowsFromCurated } from '../../services/sink/game-rows';
import { failuresByReason, gameSummary, outcomesBy, throughputPerMinute } from '../../services/analytics';
import type { GameCurated } from '../../schemas/generated/events';
import { analyticsFixture, EXPECTED } from './analytics-fixture';
import { ChdbExecutor } from './chdb-executor';
import { uniqueDatabaseName } from './helpers';
import { SINK_TABLE_NAMES, unclassifiedTables } from './table-owners';

/**
 * Production runs current ClickHouse; the local stack runs 18.16. The same migration files, inserts
 * and analytics queries run here on chdb (ClickHouse 26.x in-process) and must give the same
 * numbers as on the local server (sink-tables.int-spec.ts).
 */
describe('migrations and analytics on a modern ClickHouse engine (chdb)', () => {
  const database = uniqueDatabaseName('modern');
  let engine: ChdbExecutor;

  beforeAll(() => {
    engine = new ChdbExecutor(database);
  });
  afterAll(() => {
    engine.close();
  });

  it('is a current engine', () => {
    expect(Number(engine.version().split('.')[0])).toBeGreaterThanOrEqual(24);
  });

  it('applies the migration files, then applies nothing the second time', async () => {
    const files = loadMigrations();
    const first = await runMigrations(engine, { database });
    expect(first.applied.map((m) => m.id)).toEqual(files.map((f) => f.id));
    expect(await runMigrations(engine, { database })).toEqual({ applied: [], skipped: files.length });
    expect((await migrationStatus(engine, { database })).map((s) => s.state)).toEqual(files.map(() => 'applied'));
  });

  it('creates every sink table, and no table that is neither a sink table nor classified (table-owners.ts)', async () => {
    const tables = (await engine.query<{ name: string }>(sql`SELECT name FROM system.tables WHERE database = ${database} ORDER BY name`)).map((r) => r.name);
    expect(tables).toEqual(expect.arrayContaining([...SINK_TABLE_NAMES]));
    expect(unclassifiedTables(tables)).toEqual([]);
  });

  it('has exactly the columns the inserts name, plus the DEFAULT ones', async () => {
    for (const spec of SINK_TABLES) {
      const columns = await engine.query<{ name: string; default_kind: string }>(
        sql`SELECT name, default_kind FROM system.columns WHERE database = ${database} AND table = ${spec.name}`,
      );
      expect(
        columns
          .filter((c) => c.default_kind === '')
          .map((c) => c.name)
          .sort(),
      ).toEqual([...spec.columns].sort());
    }
  });

  it('refuses a changed migration', async () => {
    const files = loadMigrations();
    const edited = files.map((f, i) => (i === files.length - 1 ? parseMigrationFile(f.fileName, `${f.source} `) : f));
    await expect(runMigrations(engine, { database, files: edited })).rejects.toThrow(/applied migration changed on disk/);
  });

  async function insertEvents(events: GameCurated[], firstOffset: number): Promise<void> {
    const rows = events.map((e, i) => rowsFromCurated(e, { topic: 'dg.game-curated', partition: 1, offset: String(firstOffset + i) }));
    await engine.insert(
      GAMES_TABLE.name,
      rows.map((r) => r.game),
      GAMES_TABLE.columns,
    );
    await engine.insert(
      TURNS_TABLE.name,
      rows.flatMap((r) => r.turns),
      TURNS_TABLE.columns,
    );
    await engine.insert(
      FILTER_DECISIONS_TABLE.name,
      rows.map((r) => r.filterDecision),
      FILTER_DECISIONS_TABLE.columns,
    );
  }

  it('runs the analytics queries with the same results, before and after redelivery', async () => {
    const events = analyticsFixture();
    await insertEvents(events, 100);
    const check = async () => {
      expect(await gameSummary(engine, database, { runId: 'run-a' })).toEqual({
        ...EXPECTED.runA,
        avgQuestions: EXPECTED.runAAvgQuestions,
        costUsd: expect.any(Number),
      });
      expect(await gameSummary(engine, database)).toMatchObject(EXPECTED.all);
      expect(await failuresByReason(engine, database, { runId: 'run-a' })).toEqual(EXPECTED.runAFailures);
      expect(await outcomesBy(engine, database, ['iteration'], { runId: 'run-a' })).toEqual(EXPECTED.runAByIteration.map((e) => expect.objectContaining(e)));
      expect(await throughputPerMinute(engine, database, { minutes: 4, nowMs: EXPECTED.throughputNowMs })).toEqual(EXPECTED.throughput);
    };
    await check();
    await insertEvents(events, 100);
    await insertEvents(events, 500);
    await check();
    const turns = await engine.query<{ n: number }>(sql`SELECT count() AS n FROM ${table(database, 'turns')} FINAL`);
    expect(Number(turns[0]!.n)).toBe(events.reduce((n, e) => n + e.game.transcript.length, 0));
  });
});
