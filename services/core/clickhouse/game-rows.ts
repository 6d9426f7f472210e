import type { GameCurated, ModelSpec, Turn } from '../../../schemas/generated/events';
import { BadInputError } from '../errors';
import type { FilterDecisionRow, GameRow, SourceColumns, TurnRow } from './tables';

/** Where the event came from on Kafka. */
export interface EventSource {
  topic: string;
  partition: number;
  /** As kafkajs gives it: a decimal string. */
  offset: string;
}

export interface CuratedGameRows {
  game: GameRow;
  turns: TurnRow[];
  filterDecision: FilterDecisionRow;
}

/**
 * The ClickHouse rows of one GameCurated event. Pure and deterministic: the same event always gives
 * the same rows (row_version from curated_at_ms and the ending's origin, see rowVersion), which is what makes redelivery collapse in the
 * ReplacingMergeTree tables. The questioner's guess call counts towards its tokens, cost and latency.
 */
/**
 * Added to row_version of every game whose ending came from play (a guess, or a role that could not
 * go on). A launcher that gives up waiting ends a game as timeout without having seen it played; if
 * the played ending arrives after all, it must win whatever the order of arrival, so fallback
 * endings keep the bare curated_at_ms and lose to any played one (2^42 ms is ~139 years: no overlap).
 */
export const PLAYED_ENDING_PRIORITY = 2 ** 42;

export function rowVersion(event: GameCurated): number {
  return event.curation.curatedAtMs + (event.ending.endedBy === 'launcher' ? 0 : PLAYED_ENDING_PRIORITY);
}

export function rowsFromCurated(event: GameCurated, source: EventSource): CuratedGameRows {
  const { game, ending, judgement, curation } = event;
  const { header, setup, transcript } = game;
  const target = setup.candidates[setup.targetIndex];
  if (!target) throw new BadInputError(`game ${header.gameId}: targetIndex ${setup.targetIndex} outside ${setup.candidates.length} candidates`);

  const provenance: SourceColumns = {
    source_topic: source.topic,
    source_partition: source.partition,
    source_offset: source.offset,
    row_version: rowVersion(event),
  };
  const questioner = roleTotals(transcript, 'questioner');
  const answerer = roleTotals(transcript, 'answerer');
  const questionerCost = questioner.costUsd + ending.guessCostUsd;

  const gameRow: GameRow = {
    game_id: header.gameId,
    run_id: header.runId,
    iteration: header.iteration,
    dataset: header.dataset,
    seed: header.seed,
    sampler: header.sampler,
    num_candidates: setup.candidates.length,
    candidate_ids: setup.candidates.map((c) => c.id),
    target_index: setup.targetIndex,
    target_id: target.id,
    max_turns: setup.maxTurns,
    question_mode: setup.questionMode,
    describe_first: setup.describeFirst ? 1 : 0,
    ...modelColumns('questioner', setup.questioner),
    ...modelColumns('answerer', setup.answerer),
    turns_used: transcript.length,
    questions_asked: transcript.filter((t) => t.kind === 'question').length,
    ending_kind: ending.kind,
    ended_by: ending.endedBy,
    raw_guess: ending.rawGuess,
    guessed_index: ending.guessedIndex,
    guessed_image_id: ending.guessedImageId,
    error_message: ending.errorMessage,
    verdict: judgement.verdict,
    failure_reason: judgement.failureReason ?? '',
    judgement_detail: judgement.detail,
    referee_version: judgement.refereeVersion,
    kept: curation.kept ? 1 : 0,
    filter_reasons: [...curation.reasons],
    filter_version: curation.filterVersion,
    transcript_hash: curation.transcriptHash,
    questioner_prompt_tokens: questioner.promptTokens + ending.guessPromptTokens,
    questioner_completion_tokens: questioner.completionTokens + ending.guessCompletionTokens,
    answerer_prompt_tokens: answerer.promptTokens,
    answerer_completion_tokens: answerer.completionTokens,
    questioner_cost_usd: questionerCost,
    answerer_cost_usd: answerer.costUsd,
    cost_usd: questionerCost + answerer.costUsd,
    questioner_latency_ms: questioner.latencyMs + ending.guessLatencyMs,
    answerer_latency_ms: answerer.latencyMs,
    requested_at_ms: header.requestedAtMs,
    deadline_at_ms: header.deadlineAtMs,
    ended_at_ms: ending.endedAtMs,
    judged_at_ms: judgement.judgedAtMs,
    curated_at_ms: curation.curatedAtMs,
    ...provenance,
  };

  const turns: TurnRow[] = transcript.map((turn) => ({
    game_id: header.gameId,
    run_id: header.runId,
    iteration: header.iteration,
    turn_index: turn.index,
    speaker: turn.speaker,
    kind: turn.kind,
    text: turn.text,
    raw_output: turn.rawOutput,
    model: turn.speaker === 'questioner' ? setup.questioner.model : setup.answerer.model,
    latency_ms: turn.latencyMs,
    prompt_tokens: turn.promptTokens,
    completion_tokens: turn.completionTokens,
    cost_usd: turn.costUsd,
    created_at_ms: turn.createdAtMs,
    game_requested_at_ms: header.requestedAtMs,
    ...provenance,
  }));

  const filterDecision: FilterDecisionRow = {
    game_id: header.gameId,
    run_id: header.runId,
    iteration: header.iteration,
    filter_version: curation.filterVersion,
    kept: curation.kept ? 1 : 0,
    reasons: [...curation.reasons],
    verdict: judgement.verdict,
    transcript_hash: curation.transcriptHash,
    curated_at_ms: curation.curatedAtMs,
    game_requested_at_ms: header.requestedAtMs,
    ...provenance,
  };

  return { game: gameRow, turns, filterDecision };
}

function roleTotals(transcript: readonly Turn[], speaker: Turn['speaker']): { promptTokens: number; completionTokens: number; costUsd: number; latencyMs: number } {
  const totals = { promptTokens: 0, completionTokens: 0, costUsd: 0, latencyMs: 0 };
  for (const turn of transcript) {
    if (turn.speaker !== speaker) continue;
    totals.promptTokens += turn.promptTokens;
    totals.completionTokens += turn.completionTokens;
    totals.costUsd += turn.costUsd;
    totals.latencyMs += turn.latencyMs;
  }
  return totals;
}

type ModelColumns<Role extends string> = {
  [K in 'endpoint' | 'model' | 'prompt_version' | 'temperature' | 'top_p' | 'max_tokens' as `${Role}_${K}`]: K extends 'endpoint' | 'model' | 'prompt_version'
    ? string
    : K extends 'top_p'
      ? number | null
      : number;
};

function modelColumns<Role extends 'questioner' | 'answerer'>(role: Role, spec: ModelSpec): ModelColumns<Role> {
  return {
    [`${role}_endpoint`]: spec.endpoint,
    [`${role}_model`]: spec.model,
    [`${role}_prompt_version`]: spec.promptVersion,
    [`${role}_temperature`]: spec.temperature,
    [`${role}_top_p`]: spec.topP,
    [`${role}_max_tokens`]: spec.maxTokens,
  } as ModelColumns<Role>;
}
