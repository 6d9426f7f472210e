import type { CallUsage } from '../../schemas/generated/events';
import { curatedEvent } from '../../test/clickhouse/curated-event';
import { BadInputError } from '../core/errors';
import { PLAYED_ENDING_PRIORITY, rowsFromCurated } from './game-rows';
import { FILTER_DECISIONS_TABLE, GAMES_TABLE, TURNS_TABLE } from './tables';

const source = { topic: 'dg.game-curated', partition: 3, offset: '1234' };

const usage = (role: 'questioner' | 'answerer', model: string, over: Partial<CallUsage> = {}): CallUsage => ({
  role,
  model: { endpoint: `http://127.0.0.1:9/${role}/v1`, model, promptVersion: 'v2', temperature: 0.3, topP: 0.8, maxTokens: 77 },
  rawOutput: '{"answer": "maybe"}',
  latencyMs: 40,
  promptTokens: 1000,
  completionTokens: 20,
  cachedTokens: 600,
  costUsd: 0.003,
  modelCalls: 1,
  retries: { rate_limited: 2, timeout: 1, weird: 1 },
  pricePromptPerMTok: 2.5,
  priceCompletionPerMTok: 10,
  ...over,
});

describe('rowsFromCurated with per-call usage (issue 6 defects 4 and 10, issue 7 item 5)', () => {
  it('records the spec really sent per turn, cached tokens, calls and retries by cause, and keeps the cost of an unparseable answerer call', () => {
    const base = curatedEvent({ gameId: 'g-usage', questions: 1 });
    const transcript = base.game.transcript.map((t) => ({
      ...t,
      usage: usage(t.speaker, t.speaker === 'questioner' ? 'q-real' : 'a-real', t.speaker === 'questioner' ? { modelCalls: 2 } : {}),
    }));
    const endingCall = usage('answerer', 'a-real', {
      promptTokens: 500,
      completionTokens: 50,
      costUsd: 0.01,
      latencyMs: 900,
      cachedTokens: 0,
      retries: { server_error: 3 },
    });
    const event = {
      ...base,
      game: { ...base.game, transcript },
      ending: {
        ...base.ending,
        kind: 'unparseable_output' as const,
        endedBy: 'answerer' as const,
        guessPromptTokens: 0,
        guessCompletionTokens: 0,
        guessCostUsd: 0,
        guessLatencyMs: 0,
        call: endingCall,
      },
    };
    const { game, turns } = rowsFromCurated(event, source);
    expect(turns[0]).toMatchObject({
      model: 'q-real',
      endpoint: 'http://127.0.0.1:9/questioner/v1',
      prompt_version: 'v2',
      temperature: 0.3,
      top_p: 0.8,
      max_tokens: 77,
      cached_tokens: 600,
      model_calls: 2,
      price_prompt_per_mtok: 2.5,
      price_completion_per_mtok: 10,
      retries_rate_limited: 2,
      retries_timeout: 1,
      retries_other: 1,
      retries_server_error: 0,
    });
    expect(turns[1]).toMatchObject({ model: 'a-real', endpoint: 'http://127.0.0.1:9/answerer/v1' });
    const answererTurnCost = transcript.filter((t) => t.speaker === 'answerer').reduce((sum, t) => sum + t.costUsd, 0);
    expect(game.answerer_cost_usd).toBeCloseTo(answererTurnCost + 0.01, 10);
    expect(game.answerer_prompt_tokens).toBe(transcript.filter((t) => t.speaker === 'answerer').reduce((sum, t) => sum + t.promptTokens, 0) + 500);
    expect(game).toMatchObject({
      questioner_model_calls: 2,
      answerer_model_calls: 2,
      questioner_cached_tokens: 600,
      answerer_cached_tokens: 600,
      retries_rate_limited: 4,
      retries_timeout: 2,
      retries_server_error: 3,
      retries_other: 2,
      answerer_price_prompt_per_mtok: 2.5,
    });
  });
});

describe('rowsFromCurated', () => {
  it('maps a successful game to one games row, one turn row per utterance and one filter decision', () => {
    const event = curatedEvent({ gameId: 'g1', questions: 2 });
    const { game, turns, filterDecision } = rowsFromCurated(event, source);

    expect(game).toMatchObject({
      game_id: 'g1',
      run_id: 'run-1',
      num_candidates: 4,
      candidate_ids: ['g1-img-a', 'g1-img-b', 'g1-img-c', 'g1-img-d'],
      target_index: 2,
      target_id: 'g1-img-c',
      describe_first: 0,
      questioner_model: 'sim-vlm',
      questioner_top_p: null,
      answerer_top_p: 0.9,
      turns_used: 4,
      questions_asked: 2,
      ending_kind: 'guess',
      guessed_index: 2,
      verdict: 'success',
      failure_reason: '',
      kept: 1,
      filter_reasons: [],
      source_topic: 'dg.game-curated',
      source_partition: 3,
      source_offset: '1234',
      row_version: event.curation.curatedAtMs + PLAYED_ENDING_PRIORITY,
      curated_at_ms: event.curation.curatedAtMs,
    });
    // questioner: turns 0 and 2 (50 + 52 prompt tokens) plus the guess call (100).
    expect(game.questioner_prompt_tokens).toBe(202);
    expect(game.questioner_completion_tokens).toBe(7 + 7 + 5);
    expect(game.questioner_latency_ms).toBe(10 + 12 + 15);
    expect(game.answerer_prompt_tokens).toBe(51 + 53);
    expect(game.cost_usd).toBeCloseTo(0.0001 * 4 + 0.001, 10);

    expect(turns.map((t) => [t.turn_index, t.speaker, t.kind])).toEqual([
      [0, 'questioner', 'question'],
      [1, 'answerer', 'answer'],
      [2, 'questioner', 'question'],
      [3, 'answerer', 'answer'],
    ]);
    expect(turns[0]).toMatchObject({
      game_id: 'g1',
      model: 'sim-vlm',
      game_requested_at_ms: event.game.header.requestedAtMs,
      row_version: event.curation.curatedAtMs + PLAYED_ENDING_PRIORITY,
    });
    expect(filterDecision).toMatchObject({ game_id: 'g1', filter_version: 'filter-v1', kept: 1, reasons: [], verdict: 'success' });
  });

  it('maps a failure with its reason and the filter reasons', () => {
    const { game, filterDecision } = rowsFromCurated(curatedEvent({ gameId: 'g2', success: false, failureReason: 'model_error' }), source);
    expect(game).toMatchObject({
      verdict: 'failure',
      failure_reason: 'model_error',
      ending_kind: 'model_error',
      guessed_index: null,
      kept: 0,
      filter_reasons: ['not_success'],
    });
    expect(filterDecision).toMatchObject({ kept: 0, reasons: ['not_success'], verdict: 'failure' });
  });

  it('gives the same rows for the same event (redelivery collapses)', () => {
    const event = curatedEvent({ gameId: 'g3' });
    expect(rowsFromCurated(event, source)).toEqual(rowsFromCurated(structuredClone(event), source));
  });

  it('lets a played ending win over a launcher timeout whichever arrives last', () => {
    const played = curatedEvent({ gameId: 'g5' });
    const fallback = structuredClone(played);
    fallback.ending = { ...fallback.ending, kind: 'timeout', endedBy: 'launcher' };
    fallback.curation = { ...fallback.curation, curatedAtMs: played.curation.curatedAtMs + 60_000 };
    expect(rowsFromCurated(played, source).game.row_version).toBeGreaterThan(rowsFromCurated(fallback, source).game.row_version);
    const laterPlayed = { ...played, curation: { ...played.curation, curatedAtMs: played.curation.curatedAtMs + 1 } };
    expect(rowsFromCurated(laterPlayed, source).game.row_version).toBeGreaterThan(rowsFromCurated(played, source).game.row_version);
    expect(rowsFromCurated(played, source).game.row_version).toBeLessThan(Number.MAX_SAFE_INTEGER);
  });

  it('produces exactly the columns each insert names', () => {
    const { game, turns, filterDecision } = rowsFromCurated(curatedEvent({ gameId: 'g4' }), source);
    expect(Object.keys(game).sort()).toEqual([...GAMES_TABLE.columns].sort());
    expect(Object.keys(turns[0]!).sort()).toEqual([...TURNS_TABLE.columns].sort());
    expect(Object.keys(filterDecision).sort()).toEqual([...FILTER_DECISIONS_TABLE.columns].sort());
  });

  it('refuses a target index outside the candidates', () => {
    const event = curatedEvent({ gameId: 'g5' });
    event.game.setup.targetIndex = 9;
    expect(() => rowsFromCurated(event, source)).toThrow(BadInputError);
  });
});
