/**
 * The rows the sink inserts, one interface per table of schemas/migrations, and the column list
 * each insert names. Columns with a DEFAULT expression (the DateTime twins of *_ms columns,
 * inserted_at) are left out on purpose so the server computes them. An integration test checks
 * these lists against system.columns on the real server and on chdb.
 */

import type { EndedBy, EndingKind, FailureReason, QuestionMode, Speaker, TurnKind, Verdict } from '../../schemas/generated/events';
import type { TableSpec } from '../core/clickhouse/table-spec';

/** Kafka coordinates of the event a row came from. */
export interface SourceColumns {
  source_topic: string;
  source_partition: number;
  /** kafkajs offsets are decimal strings; ClickHouse parses them into Int64. */
  source_offset: string;
  /** rowVersion(): curated_at_ms of the source event, + 2^42 for an ending that came from play; ReplacingMergeTree keeps the highest. */
  row_version: number;
}

export interface GameRow extends SourceColumns {
  game_id: string;
  run_id: string;
  iteration: number;
  dataset: string;
  seed: number;
  sampler: string;
  num_candidates: number;
  candidate_ids: string[];
  target_index: number;
  target_id: string;
  max_turns: number;
  question_mode: QuestionMode;
  describe_first: 0 | 1;
  questioner_endpoint: string;
  questioner_model: string;
  questioner_prompt_version: string;
  questioner_temperature: number;
  questioner_top_p: number | null;
  questioner_max_tokens: number;
  answerer_endpoint: string;
  answerer_model: string;
  answerer_prompt_version: string;
  answerer_temperature: number;
  answerer_top_p: number | null;
  answerer_max_tokens: number;
  turns_used: number;
  questions_asked: number;
  ending_kind: EndingKind;
  ended_by: EndedBy;
  raw_guess: string | null;
  guessed_index: number | null;
  guessed_image_id: string | null;
  error_message: string | null;
  verdict: Verdict;
  /** '' on success. */
  failure_reason: FailureReason | '';
  judgement_detail: string;
  referee_version: string;
  kept: 0 | 1;
  filter_reasons: string[];
  filter_version: string;
  transcript_hash: string;
  questioner_prompt_tokens: number;
  questioner_completion_tokens: number;
  answerer_prompt_tokens: number;
  answerer_completion_tokens: number;
  questioner_cost_usd: number;
  answerer_cost_usd: number;
  cost_usd: number;
  questioner_latency_ms: number;
  answerer_latency_ms: number;
  requested_at_ms: number;
  deadline_at_ms: number;
  ended_at_ms: number;
  judged_at_ms: number;
  curated_at_ms: number;
  /** Totals over every model call, the ending's included (migration 011). */
  questioner_cached_tokens: number;
  answerer_cached_tokens: number;
  questioner_model_calls: number;
  answerer_model_calls: number;
  questioner_price_prompt_per_mtok: number;
  questioner_price_completion_per_mtok: number;
  answerer_price_prompt_per_mtok: number;
  answerer_price_completion_per_mtok: number;
  retries_rate_limited: number;
  retries_unavailable: number;
  retries_server_error: number;
  retries_connection: number;
  retries_timeout: number;
  retries_other: number;
}

export interface TurnRow extends SourceColumns {
  game_id: string;
  run_id: string;
  iteration: number;
  turn_index: number;
  speaker: Speaker;
  kind: TurnKind;
  text: string;
  raw_output: string;
  model: string;
  latency_ms: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  created_at_ms: number;
  game_requested_at_ms: number;
  /** The call as really sent and its cost inputs (migration 010). */
  endpoint: string;
  prompt_version: string;
  temperature: number;
  top_p: number | null;
  max_tokens: number;
  cached_tokens: number;
  model_calls: number;
  price_prompt_per_mtok: number;
  price_completion_per_mtok: number;
  retries_rate_limited: number;
  retries_unavailable: number;
  retries_server_error: number;
  retries_connection: number;
  retries_timeout: number;
  retries_other: number;
}

export interface FilterDecisionRow extends SourceColumns {
  game_id: string;
  run_id: string;
  iteration: number;
  filter_version: string;
  kept: 0 | 1;
  reasons: string[];
  verdict: Verdict;
  transcript_hash: string;
  curated_at_ms: number;
  game_requested_at_ms: number;
}

/** A record with every key of Row: the compiler rejects a missing or an unknown column. */
type ColumnSet<Row> = Record<keyof Row & string, true>;

const SOURCE_COLUMNS: ColumnSet<SourceColumns> = { source_topic: true, source_partition: true, source_offset: true, row_version: true };

const GAME_COLUMN_SET: ColumnSet<GameRow> = {
  game_id: true,
  run_id: true,
  iteration: true,
  dataset: true,
  seed: true,
  sampler: true,
  num_candidates: true,
  candidate_ids: true,
  target_index: true,
  target_id: true,
  max_turns: true,
  question_mode: true,
  describe_first: true,
  questioner_endpoint: true,
  questioner_model: true,
  questioner_prompt_version: true,
  questioner_temperature: true,
  questioner_top_p: true,
  questioner_max_tokens: true,
  answerer_endpoint: true,
  answerer_model: true,
  answerer_prompt_version: true,
  answerer_temperature: true,
  answerer_top_p: true,
  answerer_max_tokens: true,
  turns_used: true,
  questions_asked: true,
  ending_kind: true,
  ended_by: true,
  raw_guess: true,
  guessed_index: true,
  guessed_image_id: true,
  error_message: true,
  verdict: true,
  failure_reason: true,
  judgement_detail: true,
  referee_version: true,
  kept: true,
  filter_reasons: true,
  filter_version: true,
  transcript_hash: true,
  questioner_prompt_tokens: true,
  questioner_completion_tokens: true,
  answerer_prompt_tokens: true,
  answerer_completion_tokens: true,
  questioner_cost_usd: true,
  answerer_cost_usd: true,
  cost_usd: true,
  questioner_latency_ms: true,
  answerer_latency_ms: true,
  requested_at_ms: true,
  deadline_at_ms: true,
  ended_at_ms: true,
  judged_at_ms: true,
  curated_at_ms: true,
  questioner_cached_tokens: true,
  answerer_cached_tokens: true,
  questioner_model_calls: true,
  answerer_model_calls: true,
  questioner_price_prompt_per_mtok: true,
  questioner_price_completion_per_mtok: true,
  answerer_price_prompt_per_mtok: true,
  answerer_price_completion_per_mtok: true,
  retries_rate_limited: true,
  retries_unavailable: true,
  retries_server_error: true,
  retries_connection: true,
  retries_timeout: true,
  retries_other: true,
  ...SOURCE_COLUMNS,
};

const TURN_COLUMN_SET: ColumnSet<TurnRow> = {
  game_id: true,
  run_id: true,
  iteration: true,
  turn_index: true,
  speaker: true,
  kind: true,
  text: true,
  raw_output: true,
  model: true,
  latency_ms: true,
  prompt_tokens: true,
  completion_tokens: true,
  cost_usd: true,
  created_at_ms: true,
  game_requested_at_ms: true,
  endpoint: true,
  prompt_version: true,
  temperature: true,
  top_p: true,
  max_tokens: true,
  cached_tokens: true,
  model_calls: true,
  price_prompt_per_mtok: true,
  price_completion_per_mtok: true,
  retries_rate_limited: true,
  retries_unavailable: true,
  retries_server_error: true,
  retries_connection: true,
  retries_timeout: true,
  retries_other: true,
  ...SOURCE_COLUMNS,
};

const FILTER_DECISION_COLUMN_SET: ColumnSet<FilterDecisionRow> = {
  game_id: true,
  run_id: true,
  iteration: true,
  filter_version: true,
  kept: true,
  reasons: true,
  verdict: true,
  transcript_hash: true,
  curated_at_ms: true,
  game_requested_at_ms: true,
  ...SOURCE_COLUMNS,
};

function spec<Row>(name: string, set: ColumnSet<Row>): TableSpec<Row> {
  return Object.freeze({ name, columns: Object.freeze(Object.keys(set) as Array<keyof Row & string>) });
}

export const GAMES_TABLE = spec<GameRow>('games', GAME_COLUMN_SET);
export const TURNS_TABLE = spec<TurnRow>('turns', TURN_COLUMN_SET);
export const FILTER_DECISIONS_TABLE = spec<FilterDecisionRow>('filter_decisions', FILTER_DECISION_COLUMN_SET);

/**
 * Every table the sink inserts into, with the row type and the columns each insert names. The
 * ClickHouse parity tests iterate this list (columns against the migrations on 18.16 and on chdb),
 * and services/sink/sink-tables.spec.ts fails when the sink writes a table missing from it or a
 * migration creates a table nobody has classified, so a new sink table cannot be skipped.
 */
export const SINK_TABLES = [GAMES_TABLE, TURNS_TABLE, FILTER_DECISIONS_TABLE] as const;
export type SinkTable = (typeof SINK_TABLES)[number];
