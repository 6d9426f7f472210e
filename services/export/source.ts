import { sql, table, valueList, type SqlExecutor } from '../core/clickhouse';
import type { GameState, ModelSpec } from '../../schemas/generated/events';
import type { DatasetImage } from '../datasets/dataset';
import type { GameRow, TurnRow } from '../sink/tables';

/**
 * The games an export reads, from ClickHouse: the source of truth for which games exist, how they
 * were judged and curated (kept or not, every verdict, every iteration, on every sink host), with
 * their full transcripts in `turns`. The sink's JSONL shards hold only kept games, only the
 * questioner's view, only on the host that wrote them; an export needs all three dimensions.
 */
export type ExportedGameRow = Pick<
  GameRow,
  | 'game_id'
  | 'run_id'
  | 'iteration'
  | 'dataset'
  | 'seed'
  | 'sampler'
  | 'candidate_ids'
  | 'target_index'
  | 'target_id'
  | 'max_turns'
  | 'question_mode'
  | 'questioner_endpoint'
  | 'questioner_model'
  | 'questioner_prompt_version'
  | 'questioner_temperature'
  | 'questioner_top_p'
  | 'questioner_max_tokens'
  | 'answerer_endpoint'
  | 'answerer_model'
  | 'answerer_prompt_version'
  | 'answerer_temperature'
  | 'answerer_top_p'
  | 'answerer_max_tokens'
  | 'ending_kind'
  | 'guessed_index'
  | 'verdict'
  | 'failure_reason'
  | 'kept'
  | 'filter_version'
  | 'referee_version'
  | 'transcript_hash'
  | 'cost_usd'
  | 'requested_at_ms'
  | 'deadline_at_ms'
> & {
  /** 0 or 1 as ClickHouse returns the UInt8. */
  describe_first: number;
};

export type ExportedTurnRow = Pick<TurnRow, 'game_id' | 'turn_index' | 'speaker' | 'kind' | 'text' | 'raw_output' | 'model' | 'created_at_ms'>;

export interface ExportQuery {
  iterations: readonly number[];
  includeFailed: boolean;
  /** Only these runs (dg iterate exports the games its own iteration played). */
  runIds?: readonly string[];
}

/** Games of the iterations (kept only unless includeFailed), evaluation runs excluded, in a stable order. */
export async function exportedGames(ch: SqlExecutor, database: string, query: ExportQuery): Promise<ExportedGameRow[]> {
  const keptOnly = query.includeFailed ? sql`1` : sql`kept = 1`;
  const runs = query.runIds && query.runIds.length > 0 ? sql`run_id IN (${valueList([...query.runIds])})` : sql`1`;
  const rows = await ch.query<ExportedGameRow>(sql`
    SELECT game_id, run_id, iteration, dataset, seed, sampler, candidate_ids, target_index, target_id, max_turns,
           toString(question_mode) AS question_mode, describe_first,
           questioner_endpoint, questioner_model, questioner_prompt_version, questioner_temperature, questioner_top_p, questioner_max_tokens,
           answerer_endpoint, answerer_model, answerer_prompt_version, answerer_temperature, answerer_top_p, answerer_max_tokens,
           toString(ending_kind) AS ending_kind, guessed_index, toString(verdict) AS verdict, toString(failure_reason) AS failure_reason,
           kept, filter_version, referee_version, transcript_hash, cost_usd, requested_at_ms, deadline_at_ms
    FROM ${table(database, 'games')} FINAL
    WHERE iteration IN (${valueList([...query.iterations])}) AND ${keptOnly} AND ${runs}
      AND run_id NOT IN (SELECT run_id FROM ${table(database, 'eval_runs')} FINAL)
    ORDER BY iteration, game_id`);
  return rows.map((r) => ({ ...r, seed: Number(r.seed), requested_at_ms: Number(r.requested_at_ms), deadline_at_ms: Number(r.deadline_at_ms) }));
}

/** Turns of these games, grouped per game in transcript order. */
export async function exportedTurns(ch: SqlExecutor, database: string, gameIds: readonly string[]): Promise<Map<string, ExportedTurnRow[]>> {
  const byGame = new Map<string, ExportedTurnRow[]>();
  const CHUNK = 500;
  for (let i = 0; i < gameIds.length; i += CHUNK) {
    const rows = await ch.query<ExportedTurnRow>(sql`
      SELECT game_id, turn_index, toString(speaker) AS speaker, toString(kind) AS kind, text, raw_output, model, created_at_ms
      FROM ${table(database, 'turns')} FINAL
      WHERE game_id IN (${valueList(gameIds.slice(i, i + CHUNK))})
      ORDER BY game_id, turn_index`);
    for (const row of rows) {
      const list = byGame.get(row.game_id) ?? [];
      list.push({ ...row, created_at_ms: Number(row.created_at_ms) });
      byGame.set(row.game_id, list);
    }
  }
  return byGame;
}

function spec(row: ExportedGameRow, role: 'questioner' | 'answerer'): ModelSpec {
  return {
    endpoint: row[`${role}_endpoint`],
    model: row[`${role}_model`],
    promptVersion: row[`${role}_prompt_version`],
    temperature: row[`${role}_temperature`],
    topP: row[`${role}_top_p`],
    maxTokens: row[`${role}_max_tokens`],
  } as ModelSpec;
}

/**
 * The game as the roles saw it, rebuilt from its rows and the dataset's images (ClickHouse keeps
 * image ids; their URIs and hashes come from the dataset the game was drawn from).
 */
export function gameStateOf(row: ExportedGameRow, turns: readonly ExportedTurnRow[], images: ReadonlyMap<string, DatasetImage>): GameState {
  const candidates = row.candidate_ids.map((id) => {
    const image = images.get(id);
    if (!image) throw new Error(`game ${row.game_id}: candidate image ${id} is not in dataset ${row.dataset} any more`);
    return { id: image.id, uri: image.uri, sha256: image.sha256, mediaType: image.mediaType, caption: image.caption };
  });
  return {
    header: {
      gameId: row.game_id,
      runId: row.run_id,
      iteration: row.iteration,
      dataset: row.dataset,
      seed: row.seed,
      sampler: row.sampler,
      requestedAtMs: row.requested_at_ms,
      deadlineAtMs: row.deadline_at_ms,
      evalSet: null,
    },
    setup: {
      candidates,
      targetIndex: row.target_index,
      maxTurns: row.max_turns,
      questionMode: row.question_mode,
      describeFirst: row.describe_first === 1,
      questioner: spec(row, 'questioner'),
      answerer: spec(row, 'answerer'),
    },
    transcript: turns.map((t) => ({
      index: t.turn_index,
      speaker: t.speaker,
      kind: t.kind,
      text: t.text,
      rawOutput: t.raw_output,
      latencyMs: 0,
      promptTokens: 0,
      completionTokens: 0,
      costUsd: 0,
      createdAtMs: t.created_at_ms,
    })),
  } as GameState;
}
