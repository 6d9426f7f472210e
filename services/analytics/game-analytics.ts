import type { SqlExecutor } from '../core/clickhouse';
import { GAMES_TABLE } from '../sink/tables';
import { identifier, joinSql, sql, SqlFragment, table, trustedSql } from '../core/clickhouse';

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
export const GROUP_BY_COLUMNS = [
  'iteration',
  'questioner_model',
  'answerer_model',
  'dataset',
  'run_id',
  'question_mode',
  'num_candidates',
  'max_turns',
] as const;
export type GroupByColumn = (typeof GROUP_BY_COLUMNS)[number];

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
  return sql`SELECT ${OUTCOME_COLUMNS} FROM ${gamesFinal(database)} ${gamesWhere(filter)}`;
}

/** One row per failure reason: reason, games. */
export function failuresByReasonSql(database: string, filter: GameFilter = {}): SqlFragment {
  return sql`SELECT toString(failure_reason) AS reason, count() AS games FROM ${gamesFinal(database)} ${gamesWhere(filter, [sql`verdict = 'failure'`])} GROUP BY reason ORDER BY games DESC, reason`;
}

/** Outcome columns per group, e.g. success rate per iteration and questioner model. */
export function outcomesBySql(database: string, groupBy: readonly GroupByColumn[], filter: GameFilter = {}): SqlFragment {
  if (groupBy.length === 0) return summarySql(database, filter);
  for (const column of groupBy) {
    if (!(GROUP_BY_COLUMNS as readonly string[]).includes(column)) throw new RangeError(`cannot group by ${column}`);
  }
  const keys = joinSql(
    groupBy.map((c) => identifier(c)),
    ', ',
  );
  return sql`SELECT ${keys}, ${OUTCOME_COLUMNS} FROM ${gamesFinal(database)} ${gamesWhere(filter)} GROUP BY ${keys} ORDER BY ${keys}`;
}

/** Games ended per minute over the `minutes` minutes before `nowMs`: minute_start_ms, games, succeeded. */
export function throughputSql(database: string, options: { minutes: number; nowMs: number }, filter: GameFilter = {}): SqlFragment {
  const fromMs = minuteStart(options.nowMs) - (options.minutes - 1) * 60_000;
  return sql`SELECT intDiv(ended_at_ms, 60000) * 60000 AS minute_start_ms, count() AS games, countIf(verdict = 'success') AS succeeded FROM ${gamesFinal(database)} ${gamesWhere({ ...filter, endedSinceMs: Math.max(fromMs, filter.endedSinceMs ?? 0) })} GROUP BY minute_start_ms ORDER BY minute_start_ms`;
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

export async function outcomesBy(
  executor: SqlExecutor,
  database: string,
  groupBy: readonly GroupByColumn[],
  filter: GameFilter = {},
): Promise<GroupedOutcome[]> {
  const rows = await executor.query<OutcomeRow & Record<string, string | number>>(outcomesBySql(database, groupBy, filter));
  return rows.map((row) => {
    const keys: Partial<Record<GroupByColumn, string | number>> = {};
    for (const column of groupBy) keys[column] = row[column];
    return { ...keys, ...toOutcome(row) };
  });
}

/** One entry per minute of the window, oldest first, minutes without games included as zero. */
export async function throughputPerMinute(
  executor: SqlExecutor,
  database: string,
  options: { minutes: number; nowMs: number },
  filter: GameFilter = {},
): Promise<MinuteThroughput[]> {
  const rows = await executor.query<{ minute_start_ms: number | string; games: number | string; succeeded: number | string }>(
    throughputSql(database, options, filter),
  );
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

// ---------------------------------------------------------------------------------------------
// Dashboard analytics (dg dashboard, Grafana): the comparison table, per-minute series, turns to
// success, filter rejections by rule, tokens and cost, and the dialog browser's game list/detail.
// Same portability rules as above; the per-minute series reads the games_per_minute aggregate
// (migration 040) with -Merge functions.
// ---------------------------------------------------------------------------------------------

/** What the dashboard can filter games by; every field optional. */
export interface DashboardFilter {
  runId?: string;
  iteration?: number;
  dataset?: string;
  /** Matches the questioner or the answerer model. */
  model?: string;
  questionerModel?: string;
  answererModel?: string;
  verdict?: 'success' | 'failure';
  failureReason?: string;
  /** The filter's decision. */
  decision?: 'kept' | 'rejected';
  endedSinceMs?: number;
}

/**
 * The one WHERE builder of the queries over `games`: `extra` conditions first, then the filter's,
 * in a fixed order; empty when nothing is set. A GameFilter is a DashboardFilter with fewer fields,
 * so dg stats, the live view, call usage and the dashboard all filter alike.
 */
export function gamesWhere(filter: DashboardFilter, extra: SqlFragment[] = []): SqlFragment {
  const c: SqlFragment[] = [...extra];
  if (filter.runId !== undefined) c.push(sql`run_id = ${filter.runId}`);
  if (filter.iteration !== undefined) c.push(sql`iteration = ${filter.iteration}`);
  if (filter.dataset !== undefined) c.push(sql`dataset = ${filter.dataset}`);
  if (filter.model !== undefined) c.push(sql`(questioner_model = ${filter.model} OR answerer_model = ${filter.model})`);
  if (filter.questionerModel !== undefined) c.push(sql`questioner_model = ${filter.questionerModel}`);
  if (filter.answererModel !== undefined) c.push(sql`answerer_model = ${filter.answererModel}`);
  if (filter.verdict !== undefined) c.push(sql`toString(verdict) = ${filter.verdict}`);
  if (filter.failureReason !== undefined) c.push(sql`toString(failure_reason) = ${filter.failureReason}`);
  if (filter.decision !== undefined) c.push(sql`kept = ${filter.decision === 'kept' ? 1 : 0}`);
  if (filter.endedSinceMs !== undefined) c.push(sql`ended_at_ms >= ${filter.endedSinceMs}`);
  return c.length === 0 ? trustedSql('') : sql`WHERE ${joinSql(c, ' AND ')}`;
}

const TOKENS_EXPR = 'toUInt64(questioner_prompt_tokens) + questioner_completion_tokens + answerer_prompt_tokens + answerer_completion_tokens';

/** The comparison columns: outcomes plus turns, tokens and cost per game and per kept game. */
const COMPARISON_COLUMNS = trustedSql(
  [
    'count() AS games',
    "countIf(verdict = 'success') AS succeeded",
    'countIf(kept = 1) AS kept',
    'if(games = 0, 0, succeeded / games) AS success_rate',
    "if(succeeded = 0, 0, avgIf(questions_asked, verdict = 'success')) AS avg_questions_to_success",
    `sum(${TOKENS_EXPR}) AS tokens`,
    'sum(cost_usd) AS cost_usd',
    'if(games = 0, 0, tokens / games) AS tokens_per_game',
    'if(games = 0, 0, cost_usd / games) AS cost_per_game',
    'if(kept = 0, 0, tokens / kept) AS tokens_per_kept',
    'if(kept = 0, 0, cost_usd / kept) AS cost_per_kept',
  ].join(', '),
);

export const COMPARISON_KEYS = ['iteration', 'questioner_model', 'answerer_model', 'dataset', 'num_candidates'] as const;

/** Success rate and costs by iteration × questioner model × answerer model × dataset × candidates. */
export function iterationComparisonSql(database: string, filter: DashboardFilter = {}): SqlFragment {
  const keys = trustedSql(COMPARISON_KEYS.join(', '));
  return sql`SELECT ${keys}, ${COMPARISON_COLUMNS} FROM ${gamesFinal(database)} ${gamesWhere(filter)} GROUP BY ${keys} ORDER BY ${keys}`;
}

/** One row of totals with the comparison columns. */
export function dashboardTotalsSql(database: string, filter: DashboardFilter = {}): SqlFragment {
  return sql`SELECT ${COMPARISON_COLUMNS} FROM ${gamesFinal(database)} ${gamesWhere(filter)}`;
}

/** Per minute × iteration × failure reason from the games_per_minute aggregate, over [fromMs, toMs). */
export function minuteSeriesSql(
  database: string,
  range: { fromMs: number; toMs: number },
  filter: Pick<DashboardFilter, 'runId' | 'iteration' | 'dataset' | 'questionerModel' | 'answererModel'> = {},
): SqlFragment {
  const c: SqlFragment[] = [
    sql`minute_start >= toDateTime(${Math.floor(range.fromMs / 1000)}, 'UTC')`,
    sql`minute_start < toDateTime(${Math.ceil(range.toMs / 1000)}, 'UTC')`,
  ];
  if (filter.runId !== undefined) c.push(sql`run_id = ${filter.runId}`);
  if (filter.iteration !== undefined) c.push(sql`iteration = ${filter.iteration}`);
  if (filter.dataset !== undefined) c.push(sql`dataset = ${filter.dataset}`);
  if (filter.questionerModel !== undefined) c.push(sql`questioner_model = ${filter.questionerModel}`);
  if (filter.answererModel !== undefined) c.push(sql`answerer_model = ${filter.answererModel}`);
  return sql`SELECT toUInt64(minute_start) * 1000 AS minute_start_ms, iteration, failure_reason,
    uniqExactMerge(games) AS games, uniqExactIfMerge(succeeded) AS succeeded, uniqExactIfMerge(kept) AS kept,
    sumMerge(model_calls) AS model_calls, sumMerge(tokens) AS tokens, sumMerge(cost_usd) AS cost_usd
    FROM ${table(database, 'games_per_minute')} WHERE ${joinSql(c, ' AND ')}
    GROUP BY minute_start_ms, iteration, failure_reason ORDER BY minute_start_ms, iteration, failure_reason`;
}

/** Successful games by questions asked. */
export function turnsToSuccessSql(database: string, filter: DashboardFilter = {}): SqlFragment {
  return sql`SELECT questions_asked AS questions, count() AS games FROM ${gamesFinal(database)} ${gamesWhere(filter, [sql`verdict = 'success'`])} GROUP BY questions ORDER BY questions`;
}

/** Rejections by filter rule (a game rejected by two rules counts under each). */
export function filterRejectionsSql(database: string, filter: Pick<DashboardFilter, 'runId' | 'iteration'> = {}): SqlFragment {
  const c: SqlFragment[] = [sql`kept = 0`];
  if (filter.runId !== undefined) c.push(sql`run_id = ${filter.runId}`);
  if (filter.iteration !== undefined) c.push(sql`iteration = ${filter.iteration}`);
  return sql`SELECT rule, count() AS games FROM (SELECT arrayJoin(reasons) AS rule FROM ${table(database, FILTER_DECISIONS_TABLE_NAME)} FINAL WHERE ${joinSql(c, ' AND ')}) GROUP BY rule ORDER BY games DESC, rule`;
}

const FILTER_DECISIONS_TABLE_NAME = 'filter_decisions';

const GAME_LIST_COLUMNS = trustedSql(
  [
    'game_id',
    'run_id',
    'iteration',
    'dataset',
    'questioner_model',
    'answerer_model',
    'num_candidates',
    'questions_asked',
    'toString(verdict) AS verdict',
    'toString(failure_reason) AS failure_reason',
    'toString(ending_kind) AS ending_kind',
    'kept',
    'filter_reasons',
    `${TOKENS_EXPR} AS tokens`,
    'cost_usd',
    'ended_at_ms',
  ].join(', '),
);

/** The dialog browser's list: newest first. */
export function gameListSql(database: string, filter: DashboardFilter, page: { limit: number; offset: number }): SqlFragment {
  return sql`SELECT ${GAME_LIST_COLUMNS} FROM ${gamesFinal(database)} ${gamesWhere(filter)} ORDER BY ended_at_ms DESC, game_id LIMIT ${page.limit} OFFSET ${page.offset}`;
}

export function gameCountSql(database: string, filter: DashboardFilter): SqlFragment {
  return sql`SELECT count() AS games FROM ${gamesFinal(database)} ${gamesWhere(filter)}`;
}

/** Everything the games table holds about one game (enums as strings). */
export function gameDetailSql(database: string, gameId: string): SqlFragment {
  return sql`SELECT *, toString(verdict) AS verdict_text, toString(failure_reason) AS failure_reason_text, toString(ending_kind) AS ending_kind_text,
    toString(ended_by) AS ended_by_text, toString(question_mode) AS question_mode_text FROM ${gamesFinal(database)} WHERE game_id = ${gameId} LIMIT 1`;
}

export function gameTurnsSql(database: string, gameId: string): SqlFragment {
  return sql`SELECT turn_index, toString(speaker) AS speaker, toString(kind) AS kind, text, raw_output, model, latency_ms, prompt_tokens, completion_tokens, cost_usd, created_at_ms
    FROM ${table(database, 'turns')} FINAL WHERE game_id = ${gameId} ORDER BY turn_index`;
}

export function gameFilterDecisionsSql(database: string, gameId: string): SqlFragment {
  return sql`SELECT filter_version, kept, reasons, toString(verdict) AS verdict, curated_at_ms FROM ${table(database, FILTER_DECISIONS_TABLE_NAME)} FINAL WHERE game_id = ${gameId} ORDER BY filter_version`;
}

/** Distinct values to fill the dashboard's filter drop-downs. */
export function facetsSql(database: string): SqlFragment {
  return sql`SELECT groupUniqArray(run_id) AS runs, groupUniqArray(iteration) AS iterations, groupUniqArray(questioner_model) AS questioner_models,
    groupUniqArray(answerer_model) AS answerer_models, groupUniqArray(dataset) AS datasets, groupUniqArray(toString(failure_reason)) AS failure_reasons
    FROM ${table(database, GAMES_TABLE.name)}`;
}

export interface ComparisonRow {
  iteration?: number;
  questionerModel?: string;
  answererModel?: string;
  dataset?: string;
  numCandidates?: number;
  games: number;
  succeeded: number;
  kept: number;
  successRate: number;
  avgQuestionsToSuccess: number;
  tokens: number;
  costUsd: number;
  tokensPerGame: number;
  costPerGame: number;
  tokensPerKept: number;
  costPerKept: number;
}

type Raw = Record<string, unknown>;

function toComparison(row: Raw): ComparisonRow {
  const n = (k: string): number => Number(row[k] ?? 0);
  const out: ComparisonRow = {
    games: n('games'),
    succeeded: n('succeeded'),
    kept: n('kept'),
    successRate: n('success_rate'),
    avgQuestionsToSuccess: n('avg_questions_to_success'),
    tokens: n('tokens'),
    costUsd: n('cost_usd'),
    tokensPerGame: n('tokens_per_game'),
    costPerGame: n('cost_per_game'),
    tokensPerKept: n('tokens_per_kept'),
    costPerKept: n('cost_per_kept'),
  };
  if (row.iteration !== undefined) out.iteration = Number(row.iteration);
  if (row.questioner_model !== undefined) out.questionerModel = String(row.questioner_model);
  if (row.answerer_model !== undefined) out.answererModel = String(row.answerer_model);
  if (row.dataset !== undefined) out.dataset = String(row.dataset);
  if (row.num_candidates !== undefined) out.numCandidates = Number(row.num_candidates);
  return out;
}

export async function iterationComparison(executor: SqlExecutor, database: string, filter: DashboardFilter = {}): Promise<ComparisonRow[]> {
  return (await executor.query<Raw>(iterationComparisonSql(database, filter))).map(toComparison);
}

export async function dashboardTotals(executor: SqlExecutor, database: string, filter: DashboardFilter = {}): Promise<ComparisonRow> {
  const rows = await executor.query<Raw>(dashboardTotalsSql(database, filter));
  return toComparison(rows[0] ?? {});
}

export interface MinutePoint {
  minuteStartMs: number;
  iteration: number;
  games: number;
  succeeded: number;
  kept: number;
  modelCalls: number;
  tokens: number;
  costUsd: number;
  failures: Record<string, number>;
}

/** Per minute and iteration, failure reasons folded into `failures`; only minutes with games. */
export async function minuteSeries(
  executor: SqlExecutor,
  database: string,
  range: { fromMs: number; toMs: number },
  filter: Parameters<typeof minuteSeriesSql>[2] = {},
): Promise<MinutePoint[]> {
  const rows = await executor.query<Raw>(minuteSeriesSql(database, range, filter));
  const points = new Map<string, MinutePoint>();
  for (const row of rows) {
    const minuteStartMs = Number(row.minute_start_ms);
    const iteration = Number(row.iteration);
    const key = `${minuteStartMs}/${iteration}`;
    let point = points.get(key);
    if (!point) {
      point = { minuteStartMs, iteration, games: 0, succeeded: 0, kept: 0, modelCalls: 0, tokens: 0, costUsd: 0, failures: {} };
      points.set(key, point);
    }
    const games = Number(row.games);
    point.games += games;
    point.succeeded += Number(row.succeeded);
    point.kept += Number(row.kept);
    point.modelCalls += Number(row.model_calls);
    point.tokens += Number(row.tokens);
    point.costUsd += Number(row.cost_usd);
    const reason = String(row.failure_reason);
    if (reason !== '') point.failures[reason] = (point.failures[reason] ?? 0) + games;
  }
  return [...points.values()];
}

export async function turnsToSuccess(
  executor: SqlExecutor,
  database: string,
  filter: DashboardFilter = {},
): Promise<Array<{ questions: number; games: number }>> {
  return (await executor.query<Raw>(turnsToSuccessSql(database, filter))).map((r) => ({ questions: Number(r.questions), games: Number(r.games) }));
}

export async function filterRejections(
  executor: SqlExecutor,
  database: string,
  filter: Pick<DashboardFilter, 'runId' | 'iteration'> = {},
): Promise<Record<string, number>> {
  return Object.fromEntries((await executor.query<Raw>(filterRejectionsSql(database, filter))).map((r) => [String(r.rule), Number(r.games)]));
}
