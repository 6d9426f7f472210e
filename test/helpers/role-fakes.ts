import type { GameEnded, GameJudged, GameState, ImageRef } from '../../schemas/generated/events';
import { emptyRetryCounts, type ModelClient, type ModelCompletion } from '../../services/core/model-client';
import { ImageUrlResolver, UnusableImageError } from '../../services/role-runtime';
import { decideQuestionerStep, judge, parseQuestionerOutput } from '../../services/game';
import { makeGame, withDialog, type GameOptions } from '../../services/game/testing';

/**
 * Pure stand-ins for the player roles' unit specs (no sockets): a scripted model client that counts
 * its calls and keeps every request, and an image resolver that maps ids to fixed URLs (or refuses
 * chosen ids as unusable). Used with FakeEventBus (services/core/bus/testing/fake-bus.ts).
 */

export interface ScriptedModel {
  client: ModelClient;
  /** Requests received, in order (the chat messages). */
  readonly requests: unknown[][];
}

/** Answers each call with the next scripted output (an Error is thrown instead); `fallback` when the script is used up. */
export function scriptedModel(outputs: Array<string | Error>, fallback = '{"question": "Is it red?"}'): ScriptedModel {
  const requests: unknown[][] = [];
  const client = {
    endpoint: 'http://127.0.0.1:1/v1',
    modelSpec: () => ({ endpoint: 'http://127.0.0.1:1/v1', model: 'scripted', promptVersion: 'v1', temperature: 0.7, topP: null, maxTokens: 64 }),
    complete: async (messages: unknown[]): Promise<ModelCompletion> => {
      requests.push(messages);
      const next = outputs.length > 0 ? outputs.shift()! : fallback;
      if (next instanceof Error) throw next;
      return {
        text: next,
        promptTokens: 10,
        completionTokens: 2,
        latencyMs: 3,
        costUsd: 0,
        model: 'scripted',
        attempts: 1,
        retries: emptyRetryCounts(),
        cachedTokens: 0,
      };
    },
  };
  return { client: client as unknown as ModelClient, requests };
}

/** Image URLs `https://images.test/<id>.png`; ids in `unusable` are refused like an undecodable image. */
export function fakeImages(unusable: readonly string[] = []): ImageUrlResolver {
  const urlFor = async (image: ImageRef): Promise<string> => {
    if (unusable.includes(image.id)) throw new UnusableImageError(image, 'not a decodable image');
    return `https://images.test/${image.id}.png`;
  };
  return {
    urlFor,
    urlsFor: async (images: readonly ImageRef[]) => new Map(await Promise.all(images.map(async (image) => [image.id, await urlFor(image)] as const))),
  } as unknown as ImageUrlResolver;
}

/** A game whose deadline is ten minutes from now (makeGame's fixed clock lies in the past). */
export function liveGame(options: GameOptions = {}): GameState {
  const game = makeGame(options);
  return { ...game, header: { ...game.header, deadlineAtMs: Date.now() + 600_000 } };
}

/** A game the questioner ended by guessing `guessIndex` (0-based) after the given dialog: the referee's input. */
export function guessedGame(options: GameOptions & { guessIndex: number; dialog?: Array<[string, string]> }): GameEnded {
  const game = withDialog(liveGame(options), options.dialog ?? [['Is it red?', 'yes']]);
  const call = { text: JSON.stringify({ guess: options.guessIndex + 1 }), latencyMs: 1, promptTokens: 1, completionTokens: 1, costUsd: 0 };
  const step = decideQuestionerStep(game, parseQuestionerOutput(call.text, game.setup.candidates.length), call, Date.now());
  if (step.kind !== 'end') throw new Error('expected the guess to end the game');
  return step.event;
}

/** The referee's verdict on `ended`, as the filter receives it. */
export function judgedGame(ended: GameEnded): GameJudged {
  return { ...ended, judgement: judge(ended, { now: Date.now() }) };
}
