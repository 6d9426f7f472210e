import { stripReasoning } from './model-output';
import { freeText, MAX_DESCRIPTION_CHARS, questionVariant, type ParsedAnswererOutput } from './variants';

export { MAX_DESCRIPTION_CHARS, MAX_OPEN_ANSWER_CHARS, normaliseYesNo, type ParsedAnswererOutput, type YesNoAnswer } from './variants';

/** What the answerer was asked for: an answer to the last question, or the opening description. */
export type AnswererRequestKind = 'answer' | 'description';

/**
 * Parses an answerer completion: the opening description (describeFirst) is free text with
 * `description` as the JSON key, capped at MAX_DESCRIPTION_CHARS; an answer is parsed by the game's
 * question-mode variant (services/game/variants: yesno, open, ...). Empty output is unparseable in
 * every mode.
 */
export function parseAnswererOutput(rawText: string, mode: string, request: AnswererRequestKind = 'answer'): ParsedAnswererOutput {
  const text = stripReasoning(rawText ?? '');
  if (text.trim() === '') return { kind: 'unparseable', reason: 'empty output' };
  if (request === 'description') return freeText(text, ['description', 'answer', 'text'], MAX_DESCRIPTION_CHARS);
  return questionVariant(mode).parseAnswer(text);
}
