import type { EventBus, MessageContext, Subscription } from '../core/bus';
import type { ModelRoleSettings } from '../core/config';
import type { ModelClient } from '../core/model-client';
import type { TopicKey } from '../../schemas/topics';
import type { GameEnding, GameState } from '../../schemas/generated/events';
import type { ChatMessage } from '../game/messages';
import { badImageEnding, badInputEnding, deadlinePassed, modelErrorEnding, timeoutEnding, type ModelCall } from '../game';
import { redactText } from '../core/logging/redact';
import { sentSpec } from './call-usage';
import { UnusableImageError } from './image-url-resolver';
import type { JournalEntry, ModelCallJournal } from './model-call-journal';
import { callFromUsage, callModelForTurn, publishEnding } from './model-turn';

export type PlayerRole = 'questioner' | 'answerer';

export interface TurnPipelineDeps {
  role: PlayerRole;
  bus: EventBus;
  model: ModelClient;
  settings: Readonly<ModelRoleSettings>;
  journal: ModelCallJournal;
  /** The role's input subscription (its consumer-group generation scopes the journal barriers). */
  subscription: () => Subscription | undefined;
}

export interface TurnPlan {
  /** The request; an UnusableImageError ends the game bad_image, any other error bad_input. */
  buildMessages(): Promise<ChatMessage[]>;
  /** Whether an output is usable (no repair needed). */
  accept(text: string): boolean;
  /** The stricter instruction of the one repair attempt, or null (prompt versions without one). */
  repairInstruction: string | null;
  /** Publishes what the (possibly journaled) call does to the game, decided at `now`. */
  publishStep(call: ModelCall, now: number): Promise<void>;
}

/**
 * The one turn pipeline of questioner and answerer: fence on the transcript length, reuse a
 * journaled call, else call the model (with at most one repair), journal, then publish.
 * See ModelCallJournal for the protocol.
 */
export async function playTurn(deps: TurnPipelineDeps, game: GameState, ctx: MessageContext<TopicKey>, plan: TurnPlan): Promise<void> {
  const { role, bus, journal } = deps;
  const gameId = game.header.gameId;
  await journal.ensureFresh(ctx, deps.subscription()?.stats().generation ?? 0, gameId);
  const length = game.transcript.length;
  const fence = journal.fence(gameId);
  // A cold fence (found by a hash of the id) that would skip or replay this turn is confirmed by reading its entry back.
  const readBack = fence?.cold === true && fence.transcriptLength >= length;
  const confirmed = readBack ? await journal.latest(gameId) : undefined;
  const known: Pick<JournalEntry, 'transcriptLength' | 'role'> | undefined = readBack ? confirmed : fence;
  if (known !== undefined && known.transcriptLength > length) {
    // This turn produced its output already and the game moved on: nothing to do.
    journal.counters.fenced++;
    ctx.logger.info('turn already played (fenced by the model-call journal)', { gameId, transcriptLength: length, journaled: known.transcriptLength });
    return;
  }
  const entry = known !== undefined && known.transcriptLength === length && known.role === role ? (confirmed ?? (await journal.latest(gameId))) : undefined;
  if (entry !== undefined) {
    // Re-handled turn: the recorded call and decision time give the identical event again.
    journal.counters.reused++;
    ctx.logger.info('turn re-handled: reusing the journaled model call', { gameId, transcriptLength: length });
    if (entry.entry === 'completion' && entry.usage) return plan.publishStep(callFromUsage(entry.usage), entry.decidedAtMs);
    return publishEnding(bus, game, failedCallEnding(game, role, entry.errorMessage ?? 'model error (journaled)', entry.decidedAtMs, entry.usage));
  }

  const now = Date.now();
  if (deadlinePassed(game, now)) return publishEnding(bus, game, timeoutEnding(game, role, now));
  let messages: ChatMessage[];
  try {
    messages = await plan.buildMessages();
  } catch (err) {
    if (err instanceof UnusableImageError) {
      ctx.logger.warn('game ends: unusable image', { gameId, error: err.message });
      return publishEnding(bus, game, badImageEnding(role, err.image, err.reason, Date.now()));
    }
    ctx.logger.warn('game ends: cannot build the model request', { gameId, error: (err as Error).message });
    return publishEnding(bus, game, badInputEnding(role, `cannot build the ${role} request: ${(err as Error).message}`, Date.now()));
  }
  const spec = sentSpec(deps.model.modelSpec(), game.setup[role]);
  const result = await callModelForTurn(deps.model, messages, game, game.setup[role], ctx.signal, {
    role,
    spec,
    prices: deps.settings,
    accept: plan.accept,
    repairInstruction: plan.repairInstruction,
  });
  const decidedAtMs = Date.now();
  const base = { gameId, role, transcriptLength: length, decidedAtMs, deadlineAtMs: game.header.deadlineAtMs };
  if (!result.ok) {
    // An endpoint may echo the API key in its error; the journal is a Kafka topic like any other.
    await journal.record({ ...base, entry: 'failure', usage: result.usage, errorMessage: redactText(result.message) });
    ctx.logger.warn(`game ends: ${role} model error`, { gameId, error: result.message });
    return publishEnding(bus, game, failedCallEnding(game, role, result.message, decidedAtMs, result.usage));
  }
  await journal.record({ ...base, entry: 'completion', usage: result.call.usage ?? null, errorMessage: null });
  await plan.publishStep(result.call, decidedAtMs);
}

/**
 * A model call that failed for good ends the game as model_error, unless the game's deadline had
 * passed by then: the call gave up because no attempt could start or finish in time, so the game
 * timed out (the client stops retrying at the deadline and reports it as a timeout-class error).
 */
function failedCallEnding(
  game: GameState,
  role: 'questioner' | 'answerer',
  message: string,
  decidedAtMs: number,
  usage: Parameters<typeof modelErrorEnding>[3],
): GameEnding {
  if (deadlinePassed(game, decidedAtMs)) return { ...timeoutEnding(game, role, decidedAtMs), call: usage ?? null };
  return modelErrorEnding(role, message, decidedAtMs, usage);
}
