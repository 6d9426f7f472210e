import type { GameState, ImageRef } from '../../schemas/generated/events';
import { questionerTrainingMessages } from '../game/fine-tuning';
import { DESCRIBE_REQUEST, guessJson, questionJson, type ChatMessage, type ContentPart } from '../game/messages';
import { loadPrompts, renderPrompt } from '../game/prompts';
import { questionVariant, renderVariantRule } from '../game/variants';

export const EXPORT_VIEWS = ['questioner', 'answerer'] as const;
export type ExportView = (typeof EXPORT_VIEWS)[number];

/** A training conversation in the OpenAI chat shape; images are referenced through `imageUrl`. */
export type Conversation = ChatMessage[];

/**
 * The questioner's side: what it saw at its final step (system prompt, candidates, its questions as
 * JSON assistant turns, the answers as user turns), then its guess. A game that stopped after a
 * question nobody answered keeps that question as the last assistant turn. Null when the
 * questioner never produced anything to learn from.
 */
export function questionerConversation(game: GameState, guessedIndex: number | null, imageUrl: (image: ImageRef) => string): Conversation | null {
  const transcript = game.transcript;
  const last = transcript[transcript.length - 1];
  const trailingQuestion = last?.kind === 'question' ? last : undefined;
  const played = trailingQuestion ? { ...game, transcript: transcript.slice(0, -1) } : game;
  const final = trailingQuestion ? questionJson(trailingQuestion.text) : guessedIndex !== null ? guessJson(guessedIndex + 1) : null;
  const messages = questionerTrainingMessages(played, loadPrompts(game.setup.questioner.promptVersion), final, imageUrl);
  return messages.some((m) => m.role === 'assistant') ? messages : null;
}

/**
 * The answerer's side (the contract the tiny VLM trains from): its system prompt; the first user
 * message holds the target image once, then the first question (or the describe request); every
 * answer is an assistant turn as it entered the dialog; later questions are plain user strings. A
 * question left unanswered at the end is dropped. Null when the answerer never answered.
 */
export function answererConversation(game: GameState, imageUrl: (image: ImageRef) => string): Conversation | null {
  const { setup } = game;
  const target = setup.candidates[setup.targetIndex];
  if (!target) throw new Error(`game ${game.header.gameId}: target index ${setup.targetIndex} outside ${setup.candidates.length} candidates`);
  const prompts = loadPrompts(setup.answerer.promptVersion);
  const system = renderPrompt(prompts, 'answerer.system', {
    answerRule: renderVariantRule(prompts, questionVariant(setup.questionMode), 'answerer'),
  });
  const messages: ChatMessage[] = [{ role: 'system', content: system }];
  let prompt: string | undefined = setup.describeFirst ? DESCRIBE_REQUEST : undefined;
  let imageShown = false;
  for (const turn of game.transcript) {
    if (turn.kind === 'question') {
      prompt = turn.text;
      continue;
    }
    if (prompt === undefined) continue;
    if (!imageShown) {
      const first: ContentPart[] = [
        { type: 'image_url', image_url: { url: imageUrl(target) } },
        { type: 'text', text: prompt },
      ];
      messages.push({ role: 'user', content: first });
      imageShown = true;
    } else {
      messages.push({ role: 'user', content: prompt });
    }
    messages.push({ role: 'assistant', content: turn.text });
    prompt = undefined;
  }
  return imageShown ? messages : null;
}
