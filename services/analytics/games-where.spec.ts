import { callUsageSql } from './call-analytics';
import { failuresByReasonSql, gameListSql, summarySql, type GameFilter } from './game-analytics';

/** One WHERE builder (gamesWhere) for dg stats, call usage and the dashboard: the same filter gives the same conditions everywhere. */
describe('gamesWhere', () => {
  const filter: GameFilter = { runId: "run-'a", iteration: 2, dataset: 'shapes', questionerModel: 'q-model', endedSinceMs: 5000 };
  const where = "WHERE run_id = 'run-\\'a' AND iteration = 2 AND dataset = 'shapes' AND questioner_model = 'q-model' AND ended_at_ms >= 5000";

  it('filters the summary, the call usage and the dashboard list alike', () => {
    expect(String(summarySql('db', filter))).toContain(` ${where}`);
    expect(String(callUsageSql('db', 'iteration', filter))).toContain(` FINAL ${where} GROUP BY iteration`);
    expect(String(gameListSql('db', filter, { limit: 10, offset: 0 }))).toContain(` ${where} `);
  });

  it('puts the query’s own conditions first, and adds no WHERE for an empty filter', () => {
    expect(String(failuresByReasonSql('db', { runId: 'r' }))).toContain("WHERE verdict = 'failure' AND run_id = 'r' GROUP BY");
    expect(String(summarySql('db'))).not.toContain('WHERE');
    expect(String(callUsageSql('db', 'run_id'))).not.toContain('WHERE');
  });
});
