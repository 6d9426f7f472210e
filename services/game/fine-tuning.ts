import { NonRetriableError } from '../core/errors';
import type { GameCurated, GameState, ImageRef, ModelSpec } from '../../schemas/generated/events';
import { buildQuestionerMessages, guessJson, type ChatMessage } from './messages';
import type { PromptSet } from './prompts';
import { questionsAsked } from './transcript';

export interface ModelProvenance {
  endpoint: string;
  model: string;
  temperature: number;
  top_p: number | null;
  max_tokens: number;
}

/** Where a training example came from; snake_case like the rest of the JSONL line. */
export interface FineTuningMetadata {
  game_id: string;
  run_id: string;
  iteration: number;
  dataset: string;
  seed: number;
  sampler: string;
  candidate_ids: string[];
  target_index: number;
  question_mode: string;
  max_turns: number;
  describe_first: boolean;
  questions_asked: number;
  models: { questioner: ModelProvenance; answerer: ModelProvenance };
  prompt_versions: { questioner: string; answerer: string };
  filter_version: string;
  referee_version: string;
  transcript_hash: string;
}

/**
 * One line of an OpenAI chat fine-tuning JSONL file (`messages`), plus provenance. A file uploaded
 * to the OpenAI fine-tuning API should carry `messages` only; the metadata is for our own shards.
 */
export interface FineTuningExample {
  messages: ChatMessage[];
  metadata: FineTuningMetadata;
}

export interface FineTuningOptions {
  /**
   * The URL an image appears under in the example. Default: ImageRef.uri as recorded (file:, http(s):
   * or data:). An export for a remote trainer inlines local files as data URLs through this hook.
   */
  imageUrl?: (image: ImageRef) => string;
}

/**
 * The questioner's side of a kept game as a training conversation: exactly the messages the
 * questioner saw at its final step (system prompt, candidates as image parts, its questions as JSON
 * assistant turns, the answers as user turns), then the guess as the final assistant turn. Only
 * kept games that ended in a guess qualify; `prompts` must be the version the questioner played with.
 */
export function toFineTuningExample(curated: GameCurated, prompts: PromptSet, options: FineTuningOptions = {}): FineTuningExample {
  const { game, ending, judgement, curation } = curated;
  const { header, setup } = game;
  if (!curation.kept) throw new NonRetriableError(`game ${header.gameId} was not kept (${curation.reasons.join(', ')}): no training example`);
  if (ending.kind !== 'guess' || ending.guessedIndex === null) {
    throw new NonRetriableError(`game ${header.gameId} ended with ${ending.kind}, not a guess: no training example`);
  }
  if (prompts.version !== setup.questioner.promptVersion) {
    throw new NonRetriableError(`game ${header.gameId} was played with questioner prompts ${setup.questioner.promptVersion}, got ${prompts.version}`);
  }
  const messages = questionerTrainingMessages(game, prompts, guessJson(ending.guessedIndex + 1), options.imageUrl);

  return {
    messages,
    metadata: {
      game_id: header.gameId,
      run_id: header.runId,
      iteration: header.iteration,
      dataset: header.dataset,
      seed: header.seed,
      sampler: header.sampler,
      candidate_ids: setup.candidates.map((c) => c.id),
      target_index: setup.targetIndex,
      question_mode: setup.questionMode,
      max_turns: setup.maxTurns,
      describe_first: setup.describeFirst,
      questions_asked: questionsAsked(game),
      models: { questioner: provenance(setup.questioner), answerer: provenance(setup.answerer) },
      prompt_versions: { questioner: setup.questioner.promptVersion, answerer: setup.answerer.promptVersion },
      filter_version: curation.filterVersion,
      referee_version: judgement.refereeVersion,
      transcript_hash: curation.transcriptHash,
    },
  };
}

/**
 * The questioner's side of a game as training messages: exactly what it saw at its final step
 * (system prompt, candidates as image parts through `imageUrl`, its questions as JSON assistant
 * turns, the answers as user turns), then `final` (its guess, or a last question) as the closing
 * assistant turn. Shared by the sink's dataset lines (toFineTuningExample) and `dg export`'s
 * questioner view (services/export/views.ts).
 */
export function questionerTrainingMessages(
  game: GameState,
  prompts: PromptSet,
  final: string | null,
  imageUrl: (image: ImageRef) => string = (image) => image.uri,
): ChatMessage[] {
  const images = new Map(game.setup.candidates.map((image) => [image.id, imageUrl(image)]));
  const messages: ChatMessage[] = [...buildQuestionerMessages(game, images, prompts)];
  if (final !== null) messages.push({ role: 'assistant', content: final });
  return messages;
}

function provenance(spec: ModelSpec): ModelProvenance {
  return { endpoint: spec.endpoint, model: spec.model, temperature: spec.temperature, top_p: spec.topP, max_tokens: spec.maxTokens };
}
