import type { Rng } from '../datasets/prng';
import { describeScene, type Scene } from '../datasets/scene';
import { parseQuestion } from './grammar';
import { StringMemo } from './memo';
import { answerOpenQuery, evaluatePredicate } from './scene-reasoning';

/**
 * The simulated answerer: answers from the target's scene. In yesno mode every answer is yes, no or
 * unsure; in open mode wh-questions get a short phrase. Questions outside the grammar, and every
 * question about an image without scene metadata, get "unsure", as an honest model would say.
 */

export type AnswerMode = 'yesno' | 'open';

export interface AnswerOptions {
  mode: AnswerMode;
  /** Probability that a yes/no answer is flipped. */
  errorRate: number;
  rng: Rng;
}

export type SimAnswer =
  { kind: 'yesno'; answer: 'yes' | 'no' | 'unsure'; flipped: boolean } | { kind: 'text'; answer: string } | { kind: 'description'; answer: string };

export const UNREADABLE_DESCRIPTION = 'I cannot make out what the image shows.';

export function describeTarget(scene: Scene | undefined): SimAnswer {
  return { kind: 'description', answer: scene ? describeScene(scene) : UNREADABLE_DESCRIPTION };
}

/** parseQuestion is pure and the same questions come back in game after game: each text is parsed once. */
const parsedQuestions = new StringMemo(parseQuestion);

/** Empties the memo of parsed questions (tests: answers must not depend on it). */
export function clearAnswererMemo(): void {
  parsedQuestions.clear();
}

export function answerQuestion(scene: Scene | undefined, question: string, options: AnswerOptions): SimAnswer {
  const unsure: SimAnswer = { kind: 'yesno', answer: 'unsure', flipped: false };
  const parsed = parsedQuestions.get(question);
  if (!parsed) return unsure;
  if (parsed.type === 'open') {
    if (parsed.query.kind === 'describe') return describeTarget(scene);
    if (!scene || options.mode === 'yesno') return unsure;
    return { kind: 'text', answer: answerOpenQuery(scene, parsed.query) };
  }
  if (!scene) return unsure;
  const truth = evaluatePredicate(scene, parsed.predicate);
  // Draw even at rate 0 so that a seed gives the same stream of answers at every rate.
  const flipped = options.rng.next() < options.errorRate;
  return { kind: 'yesno', answer: truth !== flipped ? 'yes' : 'no', flipped };
}
