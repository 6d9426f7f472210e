import { sql, table, valueList, type SqlExecutor } from '../core/clickhouse';
import { failuresByReason, gameSummary } from '../analytics';
import { sleep } from '../core/errors';

/** What `dg play --json` prints as its last line; every number is read back from ClickHouse. */
export interface RunSummary {
  run_id: string;
  requested: number;
  games: number;
  succeeded: number;
  failed: Record<string, number>;
  failed_total: number;
  kept: number;
  success_rate: number;
  missing: number;
  elapsed_s: number;
  games_per_s: number;
}

export async function runSummary(
  ch: SqlExecutor,
  database: string,
  runId: string,
  requested: number,
  startedAtMs: number,
  now = Date.now(),
): Promise<RunSummary> {
  const [summary, failed] = await Promise.all([gameSummary(ch, database, { runId }), failuresByReason(ch, database, { runId })]);
  const elapsed = Math.max(0.001, (now - startedAtMs) / 1000);
  return {
    run_id: runId,
    requested,
    games: summary.games,
    succeeded: summary.succeeded,
    failed,
    failed_total: summary.failed,
    kept: summary.kept,
    success_rate: Number(summary.successRate.toFixed(4)),
    missing: Math.max(0, requested - summary.games),
    elapsed_s: Number(elapsed.toFixed(2)),
    games_per_s: Number((summary.games / elapsed).toFixed(3)),
  };
}

/**
 * Polls ClickHouse until every game of the run has its row (the sink writes it after the verdict
 * and the filter decision), or the deadline passes. `onProgress` sees each poll's summary.
 */
export async function waitForRun(
  ch: SqlExecutor,
  database: string,
  runId: string,
  requested: number,
  startedAtMs: number,
  options: { timeoutMs: number; intervalMs?: number; onProgress?: (s: RunSummary) => void },
): Promise<RunSummary> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const summary = await runSummary(ch, database, runId, requested, startedAtMs);
    options.onProgress?.(summary);
    if (summary.games >= requested || Date.now() >= deadline) return summary;
    await sleep(options.intervalMs ?? 500);
  }
}

/** Ids of the run's games that have a row (a verdict) in ClickHouse. */
export async function judgedGameIds(ch: SqlExecutor, database: string, runId: string): Promise<Set<string>> {
  const rows = await ch.query<{ game_id: string }>(sql`SELECT game_id FROM ${table(database, 'games')} FINAL WHERE run_id = ${runId}`);
  return new Set(rows.map((r) => r.game_id));
}

/**
 * Which of these games are finished as far as a launcher can tell: they have a row in `games`, which
 * the sink writes only after the referee judged the game and the filter curated it (kept or not).
 * "Judged" is the launcher's word for that: a game the referee judged but the sink has not written
 * yet is not among them. Any row counts, including a launcher's own timeout fallback, so no FINAL
 * is needed (DISTINCT only). Cheap for the few hundred games a launcher keeps in flight: one
 * `game_id IN (...)` over the primary key.
 */
export async function judgedAmong(ch: SqlExecutor, database: string, gameIds: readonly string[]): Promise<Set<string>> {
  if (gameIds.length === 0) return new Set();
  const rows = await ch.query<{ game_id: string }>(sql`SELECT DISTINCT game_id FROM ${table(database, 'games')} WHERE game_id IN (${valueList(gameIds)})`);
  return new Set(rows.map((r) => r.game_id));
}
