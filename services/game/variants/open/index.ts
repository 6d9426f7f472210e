import { freeText, MAX_OPEN_ANSWER_CHARS } from '../answer-text';
import type { QuestionVariant } from '../variant';

/**
 * open: short free-text answers. Rules: the released prompt versions' `*.rules.open`. Parsing: the
 * `answer` of a JSON object, or the text itself without an `Answer:` prefix, quotes or markdown;
 * whitespace collapsed and capped at MAX_OPEN_ANSWER_CHARS. The simulator's fallback: a system prompt
 * no other variant recognises is answered in open mode.
 */
export const openVariant: QuestionVariant = {
  name: 'open',
  summary: 'answers are short free text',
  parseAnswer: (text) => freeText(text, ['answer', 'response', 'text'], MAX_OPEN_ANSWER_CHARS),
  historyText: (answer) => answer,
  sim: {
    recognises: () => true,
    answerMode: 'open',
    format: (answer) => answer.answer,
  },
};
