import type { SqlExecutor } from '../core/clickhouse';
import { GAMES_TABLE } from '../sink/tables';
import { sql, SqlFragment, table, trustedSql } from '../core/clickhouse';
import { gamesWhere, type GameFilter } from './game-analytics';

/**
 * Model calls, retries by cause, tokens and cost from the games table (columns of migration 011),
 * per run or per iteration. Reads `games FINAL`; SQL that runs on ClickHouse 18.16 and current
 * releases. Kept apart from game-analytics.ts (the dashboard's queries) so both can grow independently.
 */

export const RETRY_CAUSE_COLUMNS = ['rate_limited', 'unavailable', 'server_error', 'connection', 'timeout', 'other'] as const;
export type RetryCauseColumn = (typeof RETRY_CAUSE_COLUMNS)[number];

export interface CallUsageSummary {
  /** run_id or iteration, depending on the grouping. */
  key: string;
  games: number;
  keptGames: number;
  modelCalls: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  costUsd: number;
  /** Total cost of the group's games (kept or not) divided by its kept games: what one kept example cost. */
  costPerKeptGameUsd: number;
  retries: Record<RetryCauseColumn, number>;
}

const USAGE_COLUMNS = trustedSql(
  [
    'count() AS games',
    'countIf(kept = 1) AS kept_games',
    'sum(questioner_model_calls + answerer_model_calls) AS model_calls',
    'sum(questioner_prompt_tokens + answerer_prompt_tokens) AS prompt_tokens',
    'sum(questioner_completion_tokens + answerer_completion_tokens) AS completion_tokens',
    'sum(questioner_cached_tokens + answerer_cached_tokens) AS cached_tokens',
    'sum(cost_usd) AS total_cost_usd',
    'if(kept_games = 0, 0, total_cost_usd / kept_games) AS cost_per_kept_game_usd',
    ...RETRY_CAUSE_COLUMNS.map((cause) => `sum(retries_${cause}) AS retries_${cause}_total`),
  ].join(', '),
);

/**
 * Model calls, retries by cause, tokens, cost and cost per kept game, one row per run (oldest run
 * first) or per iteration: `SELECT iteration, ... cost_per_kept_game_usd FROM games FINAL GROUP BY iteration`.
 */
export function callUsageSql(database: string, by: 'run_id' | 'iteration', filter: GameFilter = {}): SqlFragment {
  const key = by === 'run_id' ? trustedSql('run_id') : trustedSql('iteration');
  return sql`SELECT toString(${key}) AS key, min(requested_at_ms) AS first_requested_ms, ${USAGE_COLUMNS} FROM ${table(database, GAMES_TABLE.name)} FINAL ${gamesWhere(filter)} GROUP BY ${key} ORDER BY first_requested_ms, key`;
}

type UsageRow = Record<string, string | number>;

export async function callUsage(executor: SqlExecutor, database: string, by: 'run_id' | 'iteration', filter: GameFilter = {}): Promise<CallUsageSummary[]> {
  const rows = await executor.query<UsageRow>(callUsageSql(database, by, filter));
  return rows.map((row) => ({
    key: String(row.key),
    games: Number(row.games),
    keptGames: Number(row.kept_games),
    modelCalls: Number(row.model_calls),
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
    cachedTokens: Number(row.cached_tokens),
    costUsd: Number(row.total_cost_usd),
    costPerKeptGameUsd: Number(row.cost_per_kept_game_usd),
    retries: Object.fromEntries(RETRY_CAUSE_COLUMNS.map((cause) => [cause, Number(row[`retries_${cause}_total`] ?? 0)])) as Record<RetryCauseColumn, number>,
  }));
}

/** `rate_limited=3 timeout=1`, or `none`. */
export function formatRetries(retries: Readonly<Record<string, number>>): string {
  const parts = Object.entries(retries)
    .filter(([, n]) => n > 0)
    .map(([cause, n]) => `${cause}=${n}`);
  return parts.length > 0 ? parts.join(' ') : 'none';
}
