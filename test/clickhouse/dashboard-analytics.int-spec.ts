import { runMigrations, sql, table, type SqlExecutor } from '../../services/core/clickhouse';
import { FILTER_DECISIONS_TABLE, GAMES_TABLE, TURNS_TABLE } from '../../services/sink/tables';
import { rowsFromCurated } from '../../services/sink/game-rows';
import {
  dashboardTotals,
  facetsSql,
  filterRejections,
  gameDetailSql,
  gameFilterDecisionsSql,
  gameListSql,
  gameTurnsSql,
  iterationComparison,
  minuteSeries,
  turnsToSuccess,
} from '../../services/analytics';
import { analyticsFixture } from './analytics-fixture';
import { ChdbExecutor } from './chdb-executor';
import { connectTestDatabase, uniqueDatabaseName } from './helpers';

/**
 * The dashboard's analytics (comparison, per-minute aggregate fed by the materialized view of
 * migration 040, turns to success, filter rejections, game list/detail) on the local ClickHouse
 * 18.16 and on chdb: the same answers on both, equal to plain queries over games FINAL, and a
 * redelivered event (the sink inserting a game twice) counts once.
 */

type Inserting = SqlExecutor & { insert(table: string, rows: readonly object[], columns: readonly string[]): Promise<void> };

async function seed(executor: Inserting, database: string, times = 1): Promise<void> {
  await runMigrations(executor, { database });
  for (let copy = 0; copy < times; copy++) {
    const rows = analyticsFixture().map((e, i) => rowsFromCurated(e, { topic: 'dg.game-curated', partition: 0, offset: String(i) }));
    await executor.insert(
      GAMES_TABLE.name,
      rows.map((r) => r.game),
      GAMES_TABLE.columns,
    );
    await executor.insert(
      TURNS_TABLE.name,
      rows.flatMap((r) => r.turns),
      TURNS_TABLE.columns,
    );
    await executor.insert(
      FILTER_DECISIONS_TABLE.name,
      rows.map((r) => r.filterDecision),
      FILTER_DECISIONS_TABLE.columns,
    );
  }
}

async function answers(executor: SqlExecutor, database: string): Promise<unknown> {
  const games = await executor.query<{ game_id: string }>(gameListSql(database, {}, { limit: 500, offset: 0 }));
  const first = games[0].game_id;
  const detail = await executor.query<Record<string, unknown>>(gameDetailSql(database, first));
  return {
    totals: await dashboardTotals(executor, database),
    comparison: await iterationComparison(executor, database),
    series: await minuteSeries(executor, database, { fromMs: 0, toMs: 4_000_000_000_000 }),
    toSuccess: await turnsToSuccess(executor, database),
    rejections: await filterRejections(executor, database),
    listed: games.map((g) => g.game_id).sort(),
    detail: { verdict: detail[0].verdict_text, candidates: detail[0].candidate_ids },
    turns: (await executor.query(gameTurnsSql(database, first))).length,
    decisions: (await executor.query(gameFilterDecisionsSql(database, first))).length,
    facets: Object.keys((await executor.query<Record<string, unknown>>(facetsSql(database)))[0]).sort(),
  };
}

async function direct(executor: SqlExecutor, database: string): Promise<Array<{ iteration: number; games: number; succeeded: number; kept: number }>> {
  const rows = await executor.query<Record<string, string | number>>(
    sql`SELECT iteration, count() AS games, countIf(verdict = 'success') AS succeeded, countIf(kept = 1) AS kept FROM ${table(database, 'games')} FINAL GROUP BY iteration ORDER BY iteration`,
  );
  return rows.map((r) => ({ iteration: Number(r.iteration), games: Number(r.games), succeeded: Number(r.succeeded), kept: Number(r.kept) }));
}

let local: unknown;
let modern: unknown;

it('answers on the local ClickHouse (18.16) equal plain queries, with every game inserted twice', async () => {
  const { connection, database, drop } = await connectTestDatabase('dash_analytics');
  try {
    await seed(connection, database, 2);
    local = await answers(connection, database);
    const expected = await direct(connection, database);
    const a = local as {
      comparison: Array<{ iteration: number; games: number; succeeded: number; kept: number }>;
      series: Array<{ iteration: number; games: number; succeeded: number; kept: number }>;
    };
    const byIteration = new Map<number, { iteration: number; games: number; succeeded: number; kept: number }>();
    for (const r of a.comparison) {
      const e = byIteration.get(r.iteration!) ?? { iteration: r.iteration!, games: 0, succeeded: 0, kept: 0 };
      byIteration.set(r.iteration!, { iteration: e.iteration, games: e.games + r.games, succeeded: e.succeeded + r.succeeded, kept: e.kept + r.kept });
    }
    expect([...byIteration.values()]).toEqual(expected);
    // The aggregate counts distinct games: two inserts of the same game are one.
    const fromSeries = new Map<number, { iteration: number; games: number; succeeded: number; kept: number }>();
    for (const p of a.series) {
      const e = fromSeries.get(p.iteration) ?? { iteration: p.iteration, games: 0, succeeded: 0, kept: 0 };
      fromSeries.set(p.iteration, { iteration: p.iteration, games: e.games + p.games, succeeded: e.succeeded + p.succeeded, kept: e.kept + p.kept });
    }
    expect([...fromSeries.values()].sort((x, y) => x.iteration - y.iteration)).toEqual(expected);
  } finally {
    await drop();
  }
}, 60_000);

it('gives the same answers on chdb (current ClickHouse)', async () => {
  const database = uniqueDatabaseName('dash_chdb');
  const engine = new ChdbExecutor(database);
  try {
    await seed(engine, database, 2);
    modern = await answers(engine, database);
  } finally {
    engine.close();
  }
  expect(modern).toEqual(local);
}, 120_000);
