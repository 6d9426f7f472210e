import { AbortedError, ModelError } from '../core/errors';
import type { ModelClient, ModelCompletion } from '../core/model-client';
import type { ChatMessage } from '../game/messages';
import type { CallUsage, GameEnding, GameState, ModelSpec } from '../../schemas/generated/events';
import type { EventBus } from '../core/bus';
import { endGame } from '../game/steps';
import type { ModelCall } from '../game/steps';
import { addRetries, cachedTokensOf, emptyUsage, retriesOf, sentSpec, type ModelSettingsForRole } from './call-usage';

/**
 * The game with the spec this role really sends recorded in its setup (issue 6 defect 4): endpoint,
 * sampling and token cap from the role's own client settings, model and prompt version from the game
 * (the per-game override). The launcher's environment may differ from the role's.
 */
export function withSentSpec(game: GameState, role: 'questioner' | 'answerer', clientSpec: ModelSpec): GameState {
  const spec: ModelSpec = game.setup[role];
  const sent = sentSpec(clientSpec, spec);
  if (sent.endpoint === spec.endpoint && sent.temperature === spec.temperature && sent.topP === spec.topP && sent.maxTokens === spec.maxTokens) return game;
  return { ...game, setup: { ...game.setup, [role]: sent } };
}

/** The game with the endpoint this role really calls recorded in its model spec. */
export function withEndpoint(game: GameState, role: 'questioner' | 'answerer', endpoint: string): GameState {
  const spec: ModelSpec = game.setup[role];
  if (spec.endpoint === endpoint) return game;
  return { ...game, setup: { ...game.setup, [role]: { ...spec, endpoint } } };
}

export type ModelTurnResult = { ok: true; call: ModelCall } | { ok: false; message: string; usage: CallUsage };

export interface TurnCallOptions {
  role: 'questioner' | 'answerer';
  /** The spec really sent (client settings + the game's model override), recorded per turn. */
  spec: ModelSpec;
  prices: ModelSettingsForRole;
  /**
   * Whether an output is usable; when it is not (empty, refused, unparseable) and `repairInstruction`
   * is set, one more call is made with the output and that stricter instruction appended.
   */
  accept?: (text: string) => boolean;
  repairInstruction?: string | null;
  /** Ask for JSON mode (`response_format`); default true. */
  json?: boolean;
}

/**
 * One turn's model call (plus at most one repair call). Model failures (after the client's bounded
 * retries) become a result the role turns into a model_error ending; only a shutdown abort
 * propagates, so the message stays uncommitted and another instance replays the turn.
 */
export async function callModelForTurn(
  model: ModelClient,
  messages: ChatMessage[],
  game: GameState,
  spec: ModelSpec,
  signal: AbortSignal,
  options?: TurnCallOptions,
): Promise<ModelTurnResult> {
  const role = options?.role ?? 'questioner';
  const sent = options?.spec ?? spec;
  const prices = options?.prices ?? { pricePromptPerMTok: 0, priceCompletionPerMTok: 0 };
  const endpointKey = `${model.endpoint}|${spec.model}`;
  const send = (request: ChatMessage[], json: boolean): Promise<ModelCompletion> =>
    model.complete(request as Parameters<ModelClient['complete']>[0], {
      model: spec.model,
      seed: turnSeed(game),
      responseFormatJson: json,
      signal,
      deadlineAtMs: game.header.deadlineAtMs,
    });
  // JSON mode is asked for; an endpoint that rejects `response_format` (HTTP 400/422 naming it) is
  // asked again without it, and remembered, so the prompt's own JSON instruction does the work.
  const complete = async (request: ChatMessage[]): Promise<ModelCompletion> => {
    const json = (options?.json ?? true) && !NO_JSON_MODE.has(endpointKey);
    if (!json) return send(request, false);
    try {
      return await send(request, true);
    } catch (err) {
      if (!rejectsJsonMode(err)) throw err;
      NO_JSON_MODE.add(endpointKey);
      return send(request, false);
    }
  };
  let usage = emptyUsage(role, sent, prices);
  let first: ModelCompletion;
  try {
    first = await complete(messages);
  } catch (err) {
    if (err instanceof AbortedError && signal.aborted) throw err;
    return { ok: false, message: err instanceof Error ? err.message : String(err), usage: { ...usage, retries: retriesOf(err) } };
  }
  usage = addCompletion(usage, first);
  if (options?.accept && options.repairInstruction && !options.accept(first.text)) {
    const repairRequest: ChatMessage[] = [...messages, { role: 'assistant', content: first.text }, { role: 'user', content: options.repairInstruction }];
    try {
      const repaired = await complete(repairRequest);
      usage = addCompletion(usage, repaired);
    } catch (err) {
      if (err instanceof AbortedError && signal.aborted) throw err;
      // The repair call failed: the first output stands (and ends the game as unparseable_output).
      usage = { ...usage, retries: addRetries(usage.retries, retriesOf(err)) };
    }
  }
  return { ok: true, call: callFromUsage(usage) };
}

/** Endpoint|model pairs that rejected JSON mode in this process. */
const NO_JSON_MODE = new Set<string>();

/** A 400/422 whose message names response_format or JSON mode: the endpoint has no JSON mode. */
export function rejectsJsonMode(err: unknown): boolean {
  return err instanceof ModelError && (err.status === 400 || err.status === 422) && /response_format|json[_ ]?(mode|object)|json_schema/i.test(err.message);
}

function addCompletion(usage: CallUsage, completion: ModelCompletion): CallUsage {
  return {
    ...usage,
    rawOutput: completion.text,
    latencyMs: usage.latencyMs + Math.max(0, Math.round(completion.latencyMs)),
    promptTokens: usage.promptTokens + completion.promptTokens,
    completionTokens: usage.completionTokens + completion.completionTokens,
    cachedTokens: usage.cachedTokens + cachedTokensOf(completion),
    costUsd: usage.costUsd + completion.costUsd,
    modelCalls: usage.modelCalls + 1,
    retries: addRetries(usage.retries, retriesOf(completion)),
  };
}

/** The ModelCall the game steps take, from a (possibly journaled) usage record. */
export function callFromUsage(usage: CallUsage): ModelCall {
  return {
    text: usage.rawOutput,
    latencyMs: usage.latencyMs,
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    costUsd: usage.costUsd,
    usage,
  };
}

/** A per-turn seed: reproducible for endpoints that honour `seed`, different on every turn. */
export function turnSeed(game: GameState): number {
  return (Math.abs(game.header.seed) + game.transcript.length * 7919) % 2_147_483_647;
}

/** Ends a game for the players: the referee judges the GameEnded whatever its ending says. */
export async function publishEnding(bus: EventBus, game: GameState, ending: GameEnding): Promise<void> {
  await bus.publish('guessMade', game.header.gameId, endGame(game, ending));
}
