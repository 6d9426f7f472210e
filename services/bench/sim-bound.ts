import type { GameState } from '../../schemas/generated/events';
import { ImageUrlResolver, turnSeed } from '../role-runtime';
import { loadImageBytes } from '../datasets/image-bytes';
import { MissingSceneError, readSceneFromPng } from '../datasets/png-text';
import type { Scene } from '../datasets/scene';
import {
  answererRequestKind,
  buildAnswererMessages,
  buildQuestionerMessages,
  decideAnswererStep,
  decideQuestionerStep,
  nextSpeaker,
  parseAnswererOutput,
  parseQuestionerOutput,
  type ModelCall,
  loadPrompts,
} from '../game';
import { DEFAULT_BEHAVIOUR, simulateCompletion, type SimBehaviour } from '../sim-vlm';

export interface SimBoundResult {
  games: number;
  modelCalls: number;
  successes: number;
  elapsedMs: number;
}

/**
 * The ceiling for the pipeline: the same games played by calling the simulator's completion logic
 * directly, one call after the other, with no HTTP, Kafka, Avro or ClickHouse. Requests are built
 * by the roles' own builders with the roles' data URLs, images are read as the server reads them
 * (data URL → bytes → scene from the PNG text chunk), and outputs parsed and applied by the game
 * rules. With the roles' per-turn seed the simulator answers exactly as it does behind the
 * pipeline, so both play the same turns; `modelCalls` lets the report check that.
 */
export async function simulatorBound(games: readonly GameState[], options: { signal: AbortSignal; behaviour?: SimBehaviour }): Promise<SimBoundResult> {
  const images = new ImageUrlResolver();
  const behaviour = options.behaviour ?? DEFAULT_BEHAVIOUR;
  const call = (text: string): ModelCall => ({ text, latencyMs: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 });
  let modelCalls = 0;
  let successes = 0;
  const started = performance.now();
  for (const initial of games) {
    options.signal.throwIfAborted();
    let game = initial;
    for (let step = 0; step < 4 * game.setup.maxTurns + 4; step++) {
      modelCalls++;
      if (nextSpeaker(game) === 'questioner') {
        const messages = buildQuestionerMessages(game, await images.urlsFor(game.setup.candidates), loadPrompts(game.setup.questioner.promptVersion));
        const completion = await simulateCompletion({ messages, behaviour, seed: turnSeed(game) }, sceneOfImageUrl);
        const decided = decideQuestionerStep(
          game,
          parseQuestionerOutput(completion.content, game.setup.candidates.length),
          call(completion.content),
          Date.now(),
        );
        if (decided.kind === 'end') {
          if (decided.event.ending.kind === 'guess' && decided.event.ending.guessedIndex === game.setup.targetIndex) successes++;
          break;
        }
        game = decided.event.game;
      } else {
        const target = game.setup.candidates[game.setup.targetIndex]!;
        const messages = buildAnswererMessages(game, await images.urlFor(target), loadPrompts(game.setup.answerer.promptVersion));
        const completion = await simulateCompletion({ messages, behaviour, seed: turnSeed(game) }, sceneOfImageUrl);
        const parsed = parseAnswererOutput(completion.content, game.setup.questionMode, answererRequestKind(game));
        const decided = decideAnswererStep(game, parsed, call(completion.content), Date.now());
        if (decided.kind === 'end') break;
        game = decided.event.game;
      }
    }
  }
  return { games: games.length, modelCalls, successes, elapsedMs: performance.now() - started };
}

/** What the simulated VLM server does with an image URL (services/sim-vlm/server.ts). */
async function sceneOfImageUrl(url: string): Promise<Scene | undefined> {
  const image = await loadImageBytes(url);
  if (image.mediaType !== 'image/png') return undefined;
  try {
    return readSceneFromPng(image.bytes);
  } catch (err) {
    if (err instanceof MissingSceneError) return undefined;
    throw err;
  }
}
