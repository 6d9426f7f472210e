import type { CallUsage, GameCurated, ModelSpec, Turn } from '../../schemas/generated/events';
import { BadInputError } from '../core/errors';
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
  // The cost of an answerer call that ended the game (late or unparseable output) is no longer dropped.
  const answererEnding = ending.call?.role === 'answerer' ? ending.call : null;
  answerer.promptTokens += answererEnding?.promptTokens ?? 0;
  answerer.completionTokens += answererEnding?.completionTokens ?? 0;
  answerer.costUsd += answererEnding?.costUsd ?? 0;
  answerer.latencyMs += answererEnding?.latencyMs ?? 0;

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
    ...callTotals(transcript, ending.call),
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
    // The model that played the turn (recorded per call), else the game's spec for that role.
    model: turn.usage?.model.model || (turn.speaker === 'questioner' ? setup.questioner.model : setup.answerer.model),
    latency_ms: turn.latencyMs,
    prompt_tokens: turn.promptTokens,
    completion_tokens: turn.completionTokens,
    cost_usd: turn.costUsd,
    created_at_ms: turn.createdAtMs,
    game_requested_at_ms: header.requestedAtMs,
    ...turnCallColumns(turn, turn.speaker === 'questioner' ? setup.questioner : setup.answerer),
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

function roleTotals(
  transcript: readonly Turn[],
  speaker: Turn['speaker'],
): { promptTokens: number; completionTokens: number; costUsd: number; latencyMs: number } {
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

/** Retry causes with their own column; anything else lands in retries_other. */
const RETRY_COLUMNS = ['rate_limited', 'unavailable', 'server_error', 'connection', 'timeout'] as const;
type RetryColumns = { [K in (typeof RETRY_COLUMNS)[number] | 'other' as `retries_${K}`]: number };

function retryColumns(retries: Readonly<Record<string, number>>): RetryColumns {
  const columns: RetryColumns = {
    retries_rate_limited: 0,
    retries_unavailable: 0,
    retries_server_error: 0,
    retries_connection: 0,
    retries_timeout: 0,
    retries_other: 0,
  };
  for (const [cause, count] of Object.entries(retries)) {
    const column = (RETRY_COLUMNS as readonly string[]).includes(cause) ? (`retries_${cause}` as keyof RetryColumns) : 'retries_other';
    columns[column] += count;
  }
  return columns;
}

function turnCallColumns(
  turn: Turn,
  gameSpec: ModelSpec,
): Pick<
  TurnRow,
  | 'endpoint'
  | 'prompt_version'
  | 'temperature'
  | 'top_p'
  | 'max_tokens'
  | 'cached_tokens'
  | 'model_calls'
  | 'price_prompt_per_mtok'
  | 'price_completion_per_mtok'
> &
  RetryColumns {
  const usage = turn.usage;
  const spec = usage?.model ?? gameSpec;
  return {
    endpoint: spec.endpoint,
    prompt_version: spec.promptVersion,
    temperature: spec.temperature,
    top_p: spec.topP,
    max_tokens: spec.maxTokens,
    cached_tokens: usage?.cachedTokens ?? 0,
    model_calls: usage?.modelCalls ?? 1,
    price_prompt_per_mtok: usage?.pricePromptPerMTok ?? 0,
    price_completion_per_mtok: usage?.priceCompletionPerMTok ?? 0,
    ...retryColumns(usage?.retries ?? {}),
  };
}

type CallTotalColumns = Pick<
  GameRow,
  | 'questioner_cached_tokens'
  | 'answerer_cached_tokens'
  | 'questioner_model_calls'
  | 'answerer_model_calls'
  | 'questioner_price_prompt_per_mtok'
  | 'questioner_price_completion_per_mtok'
  | 'answerer_price_prompt_per_mtok'
  | 'answerer_price_completion_per_mtok'
> &
  RetryColumns;

/** Totals over the turns' calls and the ending's call (turns recorded before CallUsage count one call each). */
function callTotals(transcript: readonly Turn[], endingCall: CallUsage | null): CallTotalColumns {
  const calls: Array<{ role: string; usage: CallUsage | null }> = transcript.map((t) => ({ role: t.speaker, usage: t.usage }));
  if (endingCall) calls.push({ role: endingCall.role, usage: endingCall });
  const totals: CallTotalColumns = {
    questioner_cached_tokens: 0,
    answerer_cached_tokens: 0,
    questioner_model_calls: 0,
    answerer_model_calls: 0,
    questioner_price_prompt_per_mtok: 0,
    questioner_price_completion_per_mtok: 0,
    answerer_price_prompt_per_mtok: 0,
    answerer_price_completion_per_mtok: 0,
    ...retryColumns({}),
  };
  for (const { role, usage } of calls) {
    const r = role === 'answerer' ? 'answerer' : 'questioner';
    totals[`${r}_cached_tokens`] += usage?.cachedTokens ?? 0;
    totals[`${r}_model_calls`] += usage ? usage.modelCalls : 1;
    if (usage) {
      totals[`${r}_price_prompt_per_mtok`] = usage.pricePromptPerMTok;
      totals[`${r}_price_completion_per_mtok`] = usage.priceCompletionPerMTok;
      const retries = retryColumns(usage.retries);
      for (const key of Object.keys(retries) as Array<keyof RetryColumns>) totals[key] += retries[key];
    }
  }
  return totals;
}
