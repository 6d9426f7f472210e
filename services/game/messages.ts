import { NonRetriableError } from '../core/errors';
import type { GameState, Turn } from '../../schemas/generated/events';
import { renderPrompt, type PromptSet } from './prompts';
import { nextSpeaker } from './transcript';
import { questionVariant, renderVariantRule } from './variants';

/*
 * Chat messages in the OpenAI chat-completions shape (a structural subset of the `openai` client's
 * ChatCompletionMessageParam), so game logic stays free of the client library.
 *
 * Both builders produce strictly alternating user/assistant messages after the system prompt, since
 * several open-model chat templates reject two user messages in a row; text that belongs together
 * goes into one user message as several text parts.
 */

export interface TextPart {
  type: 'text';
  text: string;
}

export interface ImagePart {
  type: 'image_url';
  image_url: { url: string };
}

export type ContentPart = TextPart | ImagePart;

export type ChatMessage = { role: 'system'; content: string } | { role: 'user'; content: string | ContentPart[] } | { role: 'assistant'; content: string };

/** Protocol phrases the simulated VLM relies on (see the brief's model message format). */
export const imageLabel = (displayNumber: number): string => `Image ${displayNumber}:`;
export const answerLine = (answer: string): string => `Answer: ${answer}`;
export const questionLine = (question: string): string => `Question: ${question}`;
export const DESCRIBE_REQUEST = 'Describe the image.';

/** The questioner's assistant message for a question or a guess (1-based display number), as JSON text. */
export const questionJson = (question: string): string => JSON.stringify({ question });
export const guessJson = (displayNumber: number): string => JSON.stringify({ guess: displayNumber });

/** How a past answer appears in the answerer's own history, as its question-mode variant writes it (JSON in yesno mode). */
export function answererHistoryText(game: GameState, turn: Turn): string {
  return turn.kind === 'answer' ? questionVariant(game.setup.questionMode).historyText(turn.text) : turn.text;
}

/** Image URL (data URL, http(s) URL...) per image id, prepared by the role. */
export type ImageUrls = ReadonlyMap<string, string>;

/**
 * The questioner's request: its system prompt, the candidates in display order, then its own past
 * outputs (assistant) and the answers (user). Every user message ends with how many questions are
 * left, so the request for step t+1 extends the request for step t (the dialog is one consistent
 * conversation, which is also the shape of the fine-tuning example); the last one forces a guess when
 * no question is left. Nothing here depends on setup.targetIndex.
 */
export function buildQuestionerMessages(game: GameState, images: ImageUrls, prompts: PromptSet): ChatMessage[] {
  const { setup } = game;
  if (nextSpeaker(game) !== 'questioner') {
    throw new NonRetriableError(`game ${game.header.gameId}: not the questioner's turn (transcript ends with a ${lastKind(game)})`);
  }
  const numCandidates = setup.candidates.length;
  const vars = { numCandidates, maxTurns: setup.maxTurns };
  const system = renderPrompt(prompts, 'questioner.system', {
    ...vars,
    questionRule: renderVariantRule(prompts, questionVariant(setup.questionMode), 'questioner'),
  });

  const intro: ContentPart[] = [{ type: 'text', text: renderPrompt(prompts, 'questioner.intro', vars) }];
  setup.candidates.forEach((candidate, i) => {
    const url = images.get(candidate.id);
    if (url === undefined) throw new NonRetriableError(`no image URL for candidate ${candidate.id} (${candidate.uri})`);
    intro.push({ type: 'text', text: imageLabel(i + 1) }, { type: 'image_url', image_url: { url } });
  });

  const messages: ChatMessage[] = [{ role: 'system', content: system }];
  let pendingUser: ContentPart[] = intro;
  let asked = 0;
  const flushUser = (): void => {
    pendingUser.push({ type: 'text', text: turnStatus(prompts, setup.maxTurns, asked, numCandidates) });
    messages.push({ role: 'user', content: pendingUser });
    pendingUser = [];
  };
  for (const turn of game.transcript) {
    if (turn.kind === 'description') {
      pendingUser.push({ type: 'text', text: renderPrompt(prompts, 'questioner.description', { description: turn.text }) });
    } else if (turn.kind === 'answer') {
      pendingUser.push({ type: 'text', text: answerLine(turn.text) });
    } else {
      flushUser();
      messages.push({ role: 'assistant', content: questionJson(turn.text) });
      asked++;
    }
  }
  flushUser();
  return messages;
}

function turnStatus(prompts: PromptSet, maxTurns: number, asked: number, numCandidates: number): string {
  const left = Math.max(0, maxTurns - asked);
  return left > 0
    ? renderPrompt(prompts, 'questioner.turn', { questionsLeft: left, maxTurns, numCandidates })
    : renderPrompt(prompts, 'questioner.final-turn', { maxTurns, numCandidates });
}

/**
 * The answerer's request: its system prompt and the target image only (no other candidate, no
 * display position), the past questions (user) and its own answers (assistant), ending with the
 * question to answer now, or the describe request when a describeFirst game opens.
 */
export function buildAnswererMessages(game: GameState, targetImageUrl: string, prompts: PromptSet): ChatMessage[] {
  const { setup } = game;
  if (nextSpeaker(game) !== 'answerer') {
    throw new NonRetriableError(`game ${game.header.gameId}: not the answerer's turn (transcript ends with a ${lastKind(game)})`);
  }
  const system = renderPrompt(prompts, 'answerer.system', {
    answerRule: renderVariantRule(prompts, questionVariant(setup.questionMode), 'answerer'),
  });
  const messages: ChatMessage[] = [{ role: 'system', content: system }];
  let pendingUser: ContentPart[] = [
    { type: 'text', text: renderPrompt(prompts, 'answerer.intro') },
    { type: 'image_url', image_url: { url: targetImageUrl } },
  ];
  if (setup.describeFirst) pendingUser.push({ type: 'text', text: DESCRIBE_REQUEST });
  for (const turn of game.transcript) {
    if (turn.kind === 'question') {
      pendingUser.push({ type: 'text', text: questionLine(turn.text) });
    } else {
      messages.push({ role: 'user', content: pendingUser });
      messages.push({ role: 'assistant', content: answererHistoryText(game, turn) });
      pendingUser = [];
    }
  }
  messages.push({ role: 'user', content: pendingUser });
  return messages;
}

function lastKind(game: GameState): string {
  return game.transcript[game.transcript.length - 1]?.kind ?? 'nothing (empty transcript)';
}
