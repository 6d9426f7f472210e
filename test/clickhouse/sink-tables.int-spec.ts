import { BatchWriter, ClickHouseConnection, runMigrations, sql } from '../../services/core/clickhouse';
import { FILTER_DECISIONS_TABLE, GAMES_TABLE, GameRow, TURNS_TABLE } from '../../services/sink/tables';
import { rowsFromCurated } from '../../services/sink/game-rows';
import { failuresByReason, gameSummary, outcomesBy, throughputPerMinute } from '../../services/analytics';
import type { GameCurated } from '../../schemas/generated/events';
import { createLogger } from '../../services/core/logging';
import { analyticsFixture, EXPECTED } from './analytics-fixture';
import { curatedEvent } from './curated-event';
import { connectTestDatabase } from './helpers';

/**
 * The sink's tables on the real server: redelivered rows collapse under FINAL, analytics report
 * exactly the inserted games, and the batch writer inserts durably, retries nothing it should not,
 * and isolates a bad row.
 */
describe('sink tables, analytics and batch writer on the real server', () => {
  let connection: ClickHouseConnection;
  let database: string;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    ({ connection, database, drop } = await connectTestDatabase('sink'));
    await runMigrations(connection, { database });
  });
  afterAll(async () => {
    await drop();
  });

  const source = (offset: number) => ({ topic: 'dg.game-curated', partition: 0, offset: String(offset) });

  async function insertEvents(events: GameCurated[], firstOffset: number): Promise<void> {
    const rows = events.map((e, i) => rowsFromCurated(e, source(firstOffset + i)));
    await connection.insertInto(
      GAMES_TABLE,
      rows.map((r) => r.game),
    );
    await connection.insertInto(
      TURNS_TABLE,
      rows.flatMap((r) => r.turns),
    );
    await connection.insertInto(
      FILTER_DECISIONS_TABLE,
      rows.map((r) => r.filterDecision),
    );
  }

  const countFinal = async (tableName: string, where = sql`1`): Promise<number> =>
    Number((await connection.query<{ n: number }>(sql`SELECT count() AS n FROM ${connection.table(tableName)} FINAL WHERE ${where}`))[0]!.n);

  describe('idempotence and analytics', () => {
    const events = analyticsFixture();
    const runA = sql`run_id = 'run-a'`;

    beforeAll(async () => {
      await insertEvents(events, 100);
    });

    it('reports the expected numbers', async () => {
      expect(await gameSummary(connection, database, { runId: 'run-a' })).toEqual({
        ...EXPECTED.runA,
        avgQuestions: EXPECTED.runAAvgQuestions,
        costUsd: expect.any(Number),
      });
      expect(await gameSummary(connection, database)).toMatchObject(EXPECTED.all);
      expect(await failuresByReason(connection, database, { runId: 'run-a' })).toEqual(EXPECTED.runAFailures);
      expect(await outcomesBy(connection, database, ['iteration'], { runId: 'run-a' })).toEqual(
        EXPECTED.runAByIteration.map((e) => expect.objectContaining(e)),
      );
      expect(await throughputPerMinute(connection, database, { minutes: 4, nowMs: EXPECTED.throughputNowMs })).toEqual(EXPECTED.throughput);
      const byModel = await outcomesBy(connection, database, ['questioner_model', 'iteration'], { runId: 'run-a' });
      expect(byModel.map((r) => [r.questioner_model, r.iteration, r.games])).toEqual([
        ['model-x', 0, 4],
        ['model-y', 1, 4],
      ]);
    });

    it('counts each game once when the same events are delivered again', async () => {
      await insertEvents(events, 100);
      await insertEvents(events, 500); // a replay: same events at new offsets
      expect(await countFinal('games', runA)).toBe(8);
      expect(await countFinal('turns', runA)).toBe(events.filter((e) => e.game.header.runId === 'run-a').reduce((n, e) => n + e.game.transcript.length, 0));
      expect(await countFinal('filter_decisions', runA)).toBe(8);
      expect(await gameSummary(connection, database, { runId: 'run-a' })).toMatchObject(EXPECTED.runA);
      expect(await failuresByReason(connection, database, { runId: 'run-a' })).toEqual(EXPECTED.runAFailures);
      expect(await throughputPerMinute(connection, database, { minutes: 4, nowMs: EXPECTED.throughputNowMs })).toEqual(EXPECTED.throughput);
    });

    it('lets a later curation of a game replace the earlier one, and a new filter version add a decision', async () => {
      const g04 = events.find((e) => e.game.header.gameId === 'g04')!;
      const recurated: GameCurated = {
        ...g04,
        curation: { ...g04.curation, kept: true, reasons: [], filterVersion: 'filter-v2', curatedAtMs: g04.curation.curatedAtMs + 60_000 },
      };
      await insertEvents([recurated], 900);
      await insertEvents([g04], 901); // the older event arriving late loses
      const rows = await connection.query<Pick<GameRow, 'kept' | 'filter_version' | 'source_offset'>>(
        sql`SELECT kept, filter_version, source_offset FROM ${connection.table('games')} FINAL WHERE game_id = 'g04'`,
      );
      expect(rows).toEqual([{ kept: 1, filter_version: 'filter-v2', source_offset: 900 }]);
      expect(await gameSummary(connection, database, { runId: 'run-a' })).toMatchObject({ ...EXPECTED.runA, kept: EXPECTED.runA.kept + 1 });
      expect(await countFinal('filter_decisions', sql`game_id = 'g04'`)).toBe(2);
      expect(await countFinal('games', runA)).toBe(8);
    });
  });

  describe('batch writer', () => {
    it('inserts every row, resolves each add only after its insert, and redelivery changes no count', async () => {
      const writer = new BatchWriter((t, rows, columns) => connection.insert(t, rows, columns), { maxBatchRows: 25, flushIntervalMs: 50 });
      const events = Array.from({ length: 40 }, (_, i) =>
        curatedEvent({ gameId: `w${String(i).padStart(2, '0')}`, runId: 'run-writer', success: i % 4 !== 0 }),
      );
      const writeAll = (firstOffset: number) =>
        Promise.all(
          events.map(async (event, i) => {
            const rows = rowsFromCurated(event, source(firstOffset + i));
            await Promise.all([
              writer.add(GAMES_TABLE, [rows.game]),
              writer.add(TURNS_TABLE, rows.turns),
              writer.add(FILTER_DECISIONS_TABLE, [rows.filterDecision]),
            ]);
            // What the sink relies on before committing the offset: the row is already readable.
            expect(await countFinal('games', sql`game_id = ${event.game.header.gameId}`)).toBe(1);
          }),
        );
      const run = sql`run_id = 'run-writer'`;
      await writeAll(1000);
      expect(await countFinal('games', run)).toBe(40);
      expect(await countFinal('turns', run)).toBe(40 * 4);
      expect(await gameSummary(connection, database, { runId: 'run-writer' })).toMatchObject({ games: 40, succeeded: 30, failed: 10, kept: 30 });
      const batches = writer.stats().insertedBatches;
      expect(batches).toBeLessThan(40 * 3);

      await writeAll(2000);
      await writer.close();
      expect(await countFinal('games', run)).toBe(40);
      expect(await countFinal('turns', run)).toBe(40 * 4);
      expect(await countFinal('filter_decisions', run)).toBe(40);
      expect(writer.stats()).toMatchObject({ bufferedRows: 0, failedRows: 0, insertedRows: 2 * 40 * (1 + 4 + 1) });
    });

    it('rejects only the add() whose row the server refuses; the rows batched with it are inserted', async () => {
      const logger = createLogger('writer-test');
      const logged = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
      const writer = new BatchWriter((t, rows, columns) => connection.insert(t, rows, columns), { maxBatchRows: 100, flushIntervalMs: 60_000, logger });
      const good = ['b1', 'b2', 'b3'].map((id) => rowsFromCurated(curatedEvent({ gameId: id, runId: 'run-bad' }), source(3000)).game);
      const bad = {
        ...rowsFromCurated(curatedEvent({ gameId: 'b-bad', runId: 'run-bad' }), source(3001)).game,
        verdict: 'maybe' as unknown as GameRow['verdict'],
      };
      const results = Promise.allSettled([writer.add(GAMES_TABLE, [good[0]!]), writer.add(GAMES_TABLE, [bad]), writer.add(GAMES_TABLE, [good[1]!, good[2]!])]);
      await writer.flush().catch(() => undefined);
      const settled = await results;
      expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ retriable: false, operation: 'insert' });
      expect(await countFinal('games', sql`run_id = 'run-bad'`)).toBe(3);
      expect(logged).toHaveBeenCalledWith('insert failed', expect.objectContaining({ table: 'games', rows: 1, retriable: false }));
      await writer.close();
    });
  });
});
