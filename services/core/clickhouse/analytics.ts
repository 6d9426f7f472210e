import type { SqlExecutor } from './client';
import { GAMES_TABLE } from './tables';
import { identifier, joinSql, sql, SqlFragment, table, trustedSql } from './sql';

/**
 * Analytics over the games table, as SQL builders (runnable by hand in clickhouse-client) and small
 * typed runners. Every query reads `games FINAL`, so a redelivered or replayed event never counts
 * twice even before the background merge has collapsed its rows. The SQL sticks to what ClickHouse
 * 18.16 and current releases both run: countIf, FINAL, GROUP BY, integer-ms time buckets (no
 * toStartOfInterval, no window functions, no WITH subqueries).
 */

export interface GameFilter {
  runId?: string;
  iteration?: number;
  dataset?: string;
  questionerModel?: string;
  /** Only games that ended at or after this epoch ms. */
  endedSinceMs?: number;
}

/** Columns analytics may group by. */
export const GROUP_BY_COLUMNS = ['iteration', 'questioner_model', 'answerer_model', 'dataset', 'run_id', 'question_mode', 'num_candidates', 'max_turns'] as const;
export type GroupByColumn = (typeof GROUP_BY_COLUMNS)[number];

function whereClause(filter: GameFilter, extra: SqlFragment[] = []): SqlFragment {
  const conditions: SqlFragment[] = [...extra];
  if (filter.runId !== undefined) conditions.push(sql`run_id = ${filter.runId}`);
  if (filter.iteration !== undefined) conditions.push(sql`iteration = ${filter.iteration}`);
  if (filter.dataset !== undefined) conditions.push(sql`dataset = ${filter.dataset}`);
  if (filter.questionerModel !== undefined) conditions.push(sql`questioner_model = ${filter.questionerModel}`);
  if (filter.endedSinceMs !== undefined) conditions.push(sql`ended_at_ms >= ${filter.endedSinceMs}`);
  return conditions.length === 0 ? trustedSql('') : sql`WHERE ${joinSql(conditions, ' AND ')}`;
}

const OUTCOME_COLUMNS = trustedSql(
  [
    'count() AS games',
    "countIf(verdict = 'success') AS succeeded",
    "countIf(verdict = 'failure') AS failed",
    'countIf(kept = 1) AS kept',
    'if(games = 0, 0, succeeded / games) AS success_rate',
    'if(games = 0, 0, avg(questions_asked)) AS avg_questions',
    'sum(cost_usd) AS cost_usd',
  ].join(', '),
);

function gamesFinal(database: string): SqlFragment {
  return sql`${table(database, GAMES_TABLE.name)} FINAL`;
}

/** One row: games, succeeded, failed, kept, success_rate, avg_questions, cost_usd. */
export function summarySql(database: string, filter: GameFilter = {}): SqlFragment {
  return sql`SELECT ${OUTCOME_COLUMNS} FROM ${gamesFinal(database)} ${whereClause(filter)}`;
}

/** One row per failure reason: reason, games. */
export function failuresByReasonSql(database: string, filter: GameFilter = {}): SqlFragment {
  return sql`SELECT toString(failure_reason) AS reason, count() AS games FROM ${gamesFinal(database)} ${whereClause(filter, [sql`verdict = 'failure'`])} GROUP BY reason ORDER BY games DESC, reason`;
}

/** Outcome columns per group, e.g. success rate per iteration and questioner model. */
export function outcomesBySql(database: string, groupBy: readonly GroupByColumn[], filter: GameFilter = {}): SqlFragment {
  if (groupBy.length === 0) return summarySql(database, filter);
  for (const column of groupBy) {
    if (!(GROUP_BY_COLUMNS as readonly string[]).includes(column)) throw new RangeError(`cannot group by ${column}`);
  }
  const keys = joinSql(groupBy.map((c) => identifier(c)), ', ');
  return sql`SELECT ${keys}, ${OUTCOME_COLUMNS} FROM ${gamesFinal(database)} ${whereClause(filter)} GROUP BY ${keys} ORDER BY ${keys}`;
}

/** Games ended per minute over the `minutes` minutes before `nowMs`: minute_start_ms, games, succeeded. */
export function throughputSql(database: string, options: { minutes: number; nowMs: number }, filter: GameFilter = {}): SqlFragment {
  const fromMs = minuteStart(options.nowMs) - (options.minutes - 1) * 60_000;
  return sql`SELECT intDiv(ended_at_ms, 60000) * 60000 AS minute_start_ms, count() AS games, countIf(verdict = 'success') AS succeeded FROM ${gamesFinal(database)} ${whereClause({ ...filter, endedSinceMs: Math.max(fromMs, filter.endedSinceMs ?? 0) })} GROUP BY minute_start_ms ORDER BY minute_start_ms`;
}

export interface OutcomeSummary {
  games: number;
  succeeded: number;
  failed: number;
  kept: number;
  successRate: number;
  avgQuestions: number;
  costUsd: number;
}

export type GroupedOutcome = OutcomeSummary & Partial<Record<GroupByColumn, string | number>>;

export interface MinuteThroughput {
  minuteStartMs: number;
  games: number;
  succeeded: number;
}

interface OutcomeRow {
  games: number | string;
  succeeded: number | string;
  failed: number | string;
  kept: number | string;
  success_rate: number | string;
  avg_questions: number | string;
  cost_usd: number | string;
}

function toOutcome(row: OutcomeRow | undefined): OutcomeSummary {
  return {
    games: Number(row?.games ?? 0),
    succeeded: Number(row?.succeeded ?? 0),
    failed: Number(row?.failed ?? 0),
    kept: Number(row?.kept ?? 0),
    successRate: Number(row?.success_rate ?? 0),
    avgQuestions: Number(row?.avg_questions ?? 0),
    costUsd: Number(row?.cost_usd ?? 0),
  };
}

export async function gameSummary(executor: SqlExecutor, database: string, filter: GameFilter = {}): Promise<OutcomeSummary> {
  const rows = await executor.query<OutcomeRow>(summarySql(database, filter));
  return toOutcome(rows[0]);
}

/** Failure counts keyed by reason (only reasons that occurred). */
export async function failuresByReason(executor: SqlExecutor, database: string, filter: GameFilter = {}): Promise<Record<string, number>> {
  const rows = await executor.query<{ reason: string; games: number | string }>(failuresByReasonSql(database, filter));
  return Object.fromEntries(rows.map((r) => [r.reason, Number(r.games)]));
}

export async function outcomesBy(executor: SqlExecutor, database: string, groupBy: readonly GroupByColumn[], filter: GameFilter = {}): Promise<GroupedOutcome[]> {
  const rows = await executor.query<OutcomeRow & Record<string, string | number>>(outcomesBySql(database, groupBy, filter));
  return rows.map((row) => {
    const keys: Partial<Record<GroupByColumn, string | number>> = {};
    for (const column of groupBy) keys[column] = row[column];
    return { ...keys, ...toOutcome(row) };
  });
}

/** One entry per minute of the window, oldest first, minutes without games included as zero. */
export async function throughputPerMinute(executor: SqlExecutor, database: string, options: { minutes: number; nowMs: number }, filter: GameFilter = {}): Promise<MinuteThroughput[]> {
  const rows = await executor.query<{ minute_start_ms: number | string; games: number | string; succeeded: number | string }>(throughputSql(database, options, filter));
  const byMinute = new Map(rows.map((r) => [Number(r.minute_start_ms), r]));
  const last = minuteStart(options.nowMs);
  const result: MinuteThroughput[] = [];
  for (let m = last - (options.minutes - 1) * 60_000; m <= last; m += 60_000) {
    const row = byMinute.get(m);
    result.push({ minuteStartMs: m, games: Number(row?.games ?? 0), succeeded: Number(row?.succeeded ?? 0) });
  }
  return result;
}

function minuteStart(ms: number): number {
  return Math.floor(ms / 60_000) * 60_000;
}
