import { AbortedError } from '../errors';
import type { ModelClient, ModelCompletion } from '../model-client';
import type { ChatMessage } from '../../game/messages';
import type { GameEnding, GameState, ModelSpec } from '../../../schemas/generated/events';
import type { EventBus } from '../bus';
import { endGame } from '../../game/steps';
import type { ModelCall } from '../../game/steps';

/** The game with the endpoint this role really calls recorded in its model spec. */
export function withEndpoint(game: GameState, role: 'questioner' | 'answerer', endpoint: string): GameState {
  const spec: ModelSpec = game.setup[role];
  if (spec.endpoint === endpoint) return game;
  return { ...game, setup: { ...game.setup, [role]: { ...spec, endpoint } } };
}

export type ModelTurnResult = { ok: true; call: ModelCall } | { ok: false; message: string };

/**
 * One model call for a game turn. Model failures (after the client's bounded retries) become a
 * result the role turns into a model_error ending; only a shutdown abort propagates, so the message
 * stays uncommitted and another instance replays the turn.
 */
export async function callModelForTurn(
  model: ModelClient,
  messages: ChatMessage[],
  game: GameState,
  spec: ModelSpec,
  signal: AbortSignal,
): Promise<ModelTurnResult> {
  let completion: ModelCompletion;
  try {
    completion = await model.complete(messages as Parameters<ModelClient['complete']>[0], {
      model: spec.model,
      seed: turnSeed(game),
      responseFormatJson: true,
      signal,
      deadlineAtMs: game.header.deadlineAtMs,
    });
  } catch (err) {
    if (err instanceof AbortedError && signal.aborted) throw err;
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
  return {
    ok: true,
    call: {
      text: completion.text,
      latencyMs: completion.latencyMs,
      promptTokens: completion.promptTokens,
      completionTokens: completion.completionTokens,
      costUsd: completion.costUsd,
    },
  };
}

/** A per-turn seed: reproducible for endpoints that honour `seed`, different on every turn. */
export function turnSeed(game: GameState): number {
  return (Math.abs(game.header.seed) + game.transcript.length * 7919) % 2_147_483_647;
}

/** Ends a game for the players: the referee judges the GuessMade whatever its ending says. */
export async function publishEnding(bus: EventBus, game: GameState, ending: GameEnding): Promise<void> {
  await bus.publish('guessMade', game.header.gameId, endGame(game, ending));
}
