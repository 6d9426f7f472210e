import type { QuestionMode } from '../../schemas/generated/events';
import { capLength, collapseWhitespace, extractJsonObjects, lookup, stripMarkdown, stripReasoning, unquote, excerpt } from './model-output';

export type YesNoAnswer = 'yes' | 'no' | 'unsure';

/** What the answerer's model said: the answer text as it enters the dialog, or why there is none. */
export type ParsedAnswererOutput = { kind: 'answer'; text: string } | { kind: 'unparseable'; reason: string };

/** What the answerer was asked for: an answer to the last question, or the opening description. */
export type AnswererRequestKind = 'answer' | 'description';

/** Open answers are "a short phrase"; longer text is cut at a word boundary rather than rejected. */
export const MAX_OPEN_ANSWER_CHARS = 300;
export const MAX_DESCRIPTION_CHARS = 1000;

const UNSURE_START =
  /^(?:unsure|not sure|uncertain|unknown|unclear|undetermined|maybe|perhaps|possibly|partially|partly|somewhat|sort of|kind of|hard to (?:say|tell)|difficult to (?:say|tell)|i(?:'m| am) not (?:sure|certain)|i don'?t know|i do not know|(?:i )?can(?:not|'t| not) (?:tell|say|determine|see|be sure)|(?:i(?:'m| am) )?unable to (?:tell|say|determine)|it(?:'s| is) (?:unclear|hard to (?:say|tell)|not clear)|n\/a|not (?:possible|able) to (?:tell|say|determine))\b/;
const YES_START = /^(?:yes|yeah|yep|yup|yea|y|correct|true|affirmative|indeed|definitely|absolutely|certainly|sure)\b/;
const NO_START = /^(?:no|nope|nah|n|false|incorrect|negative|not|none|never)\b/;

/**
 * Parses an answerer completion.
 * - yesno: JSON `{"answer": "yes"}` (also booleans, and `answer` values like "Yes, it is."), or prose
 *   whose first words decide ("Yes.", "No, it is not", "Not sure"), or "the answer is no", or a
 *   text holding exactly one of the words yes/no/unsure. Anything else is unparseable: guessing
 *   an answer would put words in the answerer's mouth.
 * - open: the `answer` of a JSON object, or the text itself without an `Answer:` prefix, quotes or
 *   markdown; whitespace collapsed and capped at MAX_OPEN_ANSWER_CHARS.
 * - description (describeFirst): like open, with `description` as the JSON key and a larger cap.
 * Empty output is unparseable in every mode.
 */
export function parseAnswererOutput(rawText: string, mode: QuestionMode, request: AnswererRequestKind = 'answer'): ParsedAnswererOutput {
  const text = stripReasoning(rawText ?? '');
  if (text.trim() === '') return { kind: 'unparseable', reason: 'empty output' };
  if (request === 'description') return freeText(text, ['description', 'answer', 'text'], MAX_DESCRIPTION_CHARS);
  if (mode === 'open') return freeText(text, ['answer', 'response', 'text'], MAX_OPEN_ANSWER_CHARS);

  const jsonAnswers = extractJsonObjects(text)
    .map((obj) => lookup(obj, 'answer', 'response', 'reply'))
    .filter((found) => found.has);
  const last = jsonAnswers[jsonAnswers.length - 1];
  if (last !== undefined) {
    const answer = typeof last.value === 'boolean' ? (last.value ? 'yes' : 'no') : typeof last.value === 'string' ? normaliseYesNo(last.value) : undefined;
    return answer !== undefined ? { kind: 'answer', text: answer } : { kind: 'unparseable', reason: `JSON answer ${JSON.stringify(last.value)} is not yes, no or unsure` };
  }
  const answer = normaliseYesNo(text);
  return answer !== undefined ? { kind: 'answer', text: answer } : { kind: 'unparseable', reason: `not a yes/no/unsure answer: ${excerpt(text)}` };
}

/** yes / no / unsure from a short reply, or undefined when the reply does not say. */
export function normaliseYesNo(reply: string): YesNoAnswer | undefined {
  const cleaned = collapseWhitespace(unquote(stripMarkdown(reply)).toLowerCase().replace(/[’‘]/g, "'"));
  const body = cleaned.replace(/^(?:answer|a|response|reply)\s*[:=\-–]\s*/, '').replace(/^["'(\[]+/, '');
  if (body === '') return undefined;
  if (UNSURE_START.test(body)) return 'unsure';
  if (YES_START.test(body)) return 'yes';
  if (NO_START.test(body)) return 'no';

  const stated = /\banswer (?:is|would be)\s*[:\-]?\s*["']?(yes|no|unsure)\b/.exec(body);
  if (stated?.[1] !== undefined) return stated[1] as YesNoAnswer;

  const words = new Set(body.match(/\b(yes|no|unsure)\b/g) ?? []);
  return words.size === 1 ? ([...words][0] as YesNoAnswer) : undefined;
}

function freeText(text: string, jsonKeys: string[], maxChars: number): ParsedAnswererOutput {
  let body: string | undefined;
  for (const obj of extractJsonObjects(text)) {
    const found = lookup(obj, ...jsonKeys);
    if (found.has && (typeof found.value === 'string' || typeof found.value === 'boolean')) body = String(found.value);
  }
  if (body === undefined) {
    body = stripMarkdown(text).replace(/^\s*(?:answer|description|a)\s*[:\-–]\s*/i, '');
  }
  const cleaned = collapseWhitespace(unquote(collapseWhitespace(body)));
  if (cleaned === '') return { kind: 'unparseable', reason: 'empty answer' };
  return { kind: 'answer', text: capLength(cleaned, maxChars) };
}
