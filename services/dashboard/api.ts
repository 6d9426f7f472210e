import { type SqlExecutor } from '../core/clickhouse';
import {
  dashboardTotals,
  facetsSql,
  failuresByReason,
  filterRejections,
  gameCountSql,
  gameDetailSql,
  gameFilterDecisionsSql,
  gameListSql,
  gameTurnsSql,
  iterationComparison,
  minuteSeries,
  turnsToSuccess,
  type DashboardFilter,
} from '../analytics';

/** A query-string problem, answered 400 with a message naming the parameter. */
export class BadRequest extends Error {}

const VERDICTS = ['success', 'failure'] as const;
const DECISIONS = ['kept', 'rejected'] as const;
const FAILURE_REASONS = ['wrong_guess', 'no_guess', 'turn_limit', 'unparseable_output', 'model_error', 'timeout', 'rule_violation'] as const;

function intParam(params: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^-?\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
    throw new BadRequest(`query parameter ${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

function oneOfParam<T extends string>(params: URLSearchParams, name: string, values: readonly T[]): T | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  if (!(values as readonly string[]).includes(raw))
    throw new BadRequest(`query parameter ${name} must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw as T;
}

function textParam(params: URLSearchParams, name: string): string | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  if (raw.length > 200) throw new BadRequest(`query parameter ${name} is longer than 200 characters`);
  return raw;
}

/** The dialog browser's and overview's filters from a query string (`run`, `iteration`, `model`, ...). */
export function filterFromQuery(params: URLSearchParams): DashboardFilter {
  const filter: DashboardFilter = {};
  const runId = textParam(params, 'run');
  const iteration = intParam(params, 'iteration', -2147483648, 2147483647);
  const dataset = textParam(params, 'dataset');
  const model = textParam(params, 'model');
  const verdict = oneOfParam(params, 'verdict', VERDICTS);
  const failureReason = oneOfParam(params, 'reason', FAILURE_REASONS);
  const decision = oneOfParam(params, 'decision', DECISIONS);
  if (runId !== undefined) filter.runId = runId;
  if (iteration !== undefined) filter.iteration = iteration;
  if (dataset !== undefined) filter.dataset = dataset;
  if (model !== undefined) filter.model = model;
  if (verdict !== undefined) filter.verdict = verdict;
  if (failureReason !== undefined) filter.failureReason = failureReason;
  if (decision !== undefined) filter.decision = decision;
  return filter;
}

export interface DashboardApiDeps {
  ch: SqlExecutor;
  database: string;
  now?: () => number;
}

type Row = Record<string, unknown>;

/** The JSON behind the page; every number is read from ClickHouse (games FINAL, or the per-minute aggregate for the series). */
export class DashboardApi {
  constructor(private readonly deps: DashboardApiDeps) {}

  private get db(): string {
    return this.deps.database;
  }

  async overview(params: URLSearchParams): Promise<unknown> {
    const filter = filterFromQuery(params);
    const minutes = intParam(params, 'minutes', 1, 7 * 24 * 60) ?? 60;
    const nowMs = (this.deps.now ?? Date.now)();
    const toMs = Math.floor(nowMs / 60_000) * 60_000 + 60_000;
    const fromMs = toMs - minutes * 60_000;
    const seriesFilter: Parameters<typeof minuteSeries>[3] = {};
    if (filter.runId !== undefined) seriesFilter.runId = filter.runId;
    if (filter.iteration !== undefined) seriesFilter.iteration = filter.iteration;
    if (filter.dataset !== undefined) seriesFilter.dataset = filter.dataset;
    const gameFilter = {
      ...(filter.runId !== undefined ? { runId: filter.runId } : {}),
      ...(filter.iteration !== undefined ? { iteration: filter.iteration } : {}),
    };
    const [totals, comparison, failures, rejections, toSuccess, series] = await Promise.all([
      dashboardTotals(this.deps.ch, this.db, filter),
      iterationComparison(this.deps.ch, this.db, filter),
      failuresByReason(this.deps.ch, this.db, gameFilter),
      filterRejections(this.deps.ch, this.db, gameFilter),
      turnsToSuccess(this.deps.ch, this.db, filter),
      minuteSeries(this.deps.ch, this.db, { fromMs, toMs }, seriesFilter),
    ]);
    return {
      nowMs,
      window: { fromMs, toMs, minutes },
      totals,
      comparison,
      failuresByReason: failures,
      filterRejections: rejections,
      turnsToSuccess: toSuccess,
      series,
    };
  }

  async facets(): Promise<unknown> {
    const [row] = await this.deps.ch.query<Row>(facetsSql(this.db));
    const sorted = (v: unknown): unknown[] => (Array.isArray(v) ? [...v].sort() : []);
    return {
      runs: sorted(row?.runs),
      iterations: (Array.isArray(row?.iterations) ? (row.iterations as unknown[]).map(Number) : []).sort((a, b) => a - b),
      models: [...new Set([...sorted(row?.questioner_models), ...sorted(row?.answerer_models)])].sort(),
      datasets: sorted(row?.datasets),
      failureReasons: sorted(row?.failure_reasons).filter((r) => r !== ''),
      verdicts: VERDICTS,
      decisions: DECISIONS,
    };
  }

  async games(params: URLSearchParams): Promise<unknown> {
    const filter = filterFromQuery(params);
    const limit = intParam(params, 'limit', 1, 500) ?? 50;
    const offset = intParam(params, 'offset', 0, 1_000_000) ?? 0;
    const [rows, count] = await Promise.all([
      this.deps.ch.query<Row>(gameListSql(this.db, filter, { limit, offset })),
      this.deps.ch.query<Row>(gameCountSql(this.db, filter)),
    ]);
    return {
      total: Number(count[0]?.games ?? 0),
      limit,
      offset,
      games: rows.map((r) => ({
        gameId: r.game_id,
        runId: r.run_id,
        iteration: Number(r.iteration),
        dataset: r.dataset,
        questionerModel: r.questioner_model,
        answererModel: r.answerer_model,
        candidates: Number(r.num_candidates),
        questions: Number(r.questions_asked),
        verdict: r.verdict,
        failureReason: r.failure_reason,
        endingKind: r.ending_kind,
        kept: Number(r.kept) === 1,
        filterReasons: r.filter_reasons,
        tokens: Number(r.tokens),
        costUsd: Number(r.cost_usd),
        endedAtMs: Number(r.ended_at_ms),
      })),
    };
  }

  /** The games row of one game (undefined when unknown). */
  async gameRow(gameId: string): Promise<Row | undefined> {
    return (await this.deps.ch.query<Row>(gameDetailSql(this.db, gameId)))[0];
  }

  async game(gameId: string): Promise<unknown | undefined> {
    const row = await this.gameRow(gameId);
    if (!row) return undefined;
    const [turns, decisions] = await Promise.all([
      this.deps.ch.query<Row>(gameTurnsSql(this.db, gameId)),
      this.deps.ch.query<Row>(gameFilterDecisionsSql(this.db, gameId)),
    ]);
    const candidateIds = row.candidate_ids as string[];
    const targetIndex = Number(row.target_index);
    const guessedIndex = row.guessed_index === null || row.guessed_index === undefined ? null : Number(row.guessed_index);
    const n = (k: string): number => Number(row[k] ?? 0);
    return {
      gameId: row.game_id,
      runId: row.run_id,
      iteration: n('iteration'),
      dataset: row.dataset,
      seed: n('seed'),
      questionMode: row.question_mode_text,
      maxTurns: n('max_turns'),
      candidates: candidateIds.map((id, index) => ({
        index,
        id,
        isTarget: index === targetIndex,
        isGuess: index === guessedIndex,
        imageUrl: `/api/games/${encodeURIComponent(String(row.game_id))}/candidates/${index}/image`,
      })),
      targetIndex,
      targetId: row.target_id,
      questioner: {
        model: row.questioner_model,
        endpoint: row.questioner_endpoint,
        promptVersion: row.questioner_prompt_version,
        promptTokens: n('questioner_prompt_tokens'),
        completionTokens: n('questioner_completion_tokens'),
        costUsd: n('questioner_cost_usd'),
        latencyMs: n('questioner_latency_ms'),
      },
      answerer: {
        model: row.answerer_model,
        endpoint: row.answerer_endpoint,
        promptVersion: row.answerer_prompt_version,
        promptTokens: n('answerer_prompt_tokens'),
        completionTokens: n('answerer_completion_tokens'),
        costUsd: n('answerer_cost_usd'),
        latencyMs: n('answerer_latency_ms'),
      },
      turns: turns.map((t) => ({
        index: Number(t.turn_index),
        speaker: t.speaker,
        kind: t.kind,
        text: t.text,
        rawOutput: t.raw_output,
        model: t.model,
        latencyMs: Number(t.latency_ms),
        promptTokens: Number(t.prompt_tokens),
        completionTokens: Number(t.completion_tokens),
        costUsd: Number(t.cost_usd),
      })),
      ending: {
        kind: row.ending_kind_text,
        endedBy: row.ended_by_text,
        rawGuess: row.raw_guess ?? null,
        guessedIndex,
        guessedImageId: row.guessed_image_id ?? null,
        errorMessage: row.error_message ?? null,
      },
      verdict: row.verdict_text,
      failureReason: row.failure_reason_text,
      judgementDetail: row.judgement_detail,
      kept: n('kept') === 1,
      filterReasons: row.filter_reasons,
      filterVersion: row.filter_version,
      filterDecisions: decisions.map((d) => ({ filterVersion: d.filter_version, kept: Number(d.kept) === 1, reasons: d.reasons, verdict: d.verdict })),
      tokens: n('questioner_prompt_tokens') + n('questioner_completion_tokens') + n('answerer_prompt_tokens') + n('answerer_completion_tokens'),
      costUsd: n('cost_usd'),
      timing: { requestedAtMs: n('requested_at_ms'), endedAtMs: n('ended_at_ms'), judgedAtMs: n('judged_at_ms'), curatedAtMs: n('curated_at_ms') },
      kafka: { topic: row.source_topic, partition: n('source_partition'), offset: String(row.source_offset) },
    };
  }
}
