import { excerpt, extractJsonObjects, lookup } from '../../model-output';
import { normaliseYesNo } from '../answer-text';
import type { QuestionVariant } from '../variant';

/**
 * yesno: every answer is yes, no or unsure. Rules: the released prompt versions' `*.rules.yesno`.
 * Parsing: JSON `{"answer": "yes"}` (also booleans, and `answer` values like "Yes, it is."), or prose
 * whose first words decide ("Yes.", "No, it is not", "Not sure"), or "the answer is no", or a text
 * holding exactly one of the words yes/no/unsure. Anything else is unparseable: guessing an answer
 * would put words in the answerer's mouth. The answerer's history shows its answers as that JSON.
 */
export const yesnoVariant: QuestionVariant = {
  name: 'yesno',
  summary: 'answers are yes/no/unsure',
  parseAnswer(text) {
    const jsonAnswers = extractJsonObjects(text)
      .map((obj) => lookup(obj, 'answer', 'response', 'reply'))
      .filter((found) => found.has);
    const last = jsonAnswers[jsonAnswers.length - 1];
    if (last !== undefined) {
      const answer = typeof last.value === 'boolean' ? (last.value ? 'yes' : 'no') : typeof last.value === 'string' ? normaliseYesNo(last.value) : undefined;
      return answer !== undefined
        ? { kind: 'answer', text: answer }
        : { kind: 'unparseable', reason: `JSON answer ${JSON.stringify(last.value)} is not yes, no or unsure` };
    }
    const answer = normaliseYesNo(text);
    return answer !== undefined ? { kind: 'answer', text: answer } : { kind: 'unparseable', reason: `not a yes/no/unsure answer: ${excerpt(text)}` };
  },
  historyText: (answer) => JSON.stringify({ answer }),
  sim: {
    // The yes/no rule names "unsure" or yes/no.
    recognises: (system) => /\bunsure\b|\byes\s*\/\s*no\b|"answer"\s*:\s*"yes"/i.test(system),
    answerMode: 'yesno',
    format: (answer) => (answer.kind === 'yesno' ? JSON.stringify({ answer: answer.answer }) : answer.answer),
  },
};
