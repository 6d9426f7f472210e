import { capLength, collapseWhitespace, extractJsonObjects, unquote, stripMarkdown, lookup } from '../model-output';

/** What the answerer's model said: the answer text as it enters the dialog, or why there is none. */
export type ParsedAnswererOutput = { kind: 'answer'; text: string } | { kind: 'unparseable'; reason: string };

export type YesNoAnswer = 'yes' | 'no' | 'unsure';

/** Open answers are "a short phrase"; longer text is cut at a word boundary rather than rejected. */
export const MAX_OPEN_ANSWER_CHARS = 300;
export const MAX_DESCRIPTION_CHARS = 1000;

const UNSURE_START =
  /^(?:unsure|not sure|uncertain|unknown|unclear|undetermined|maybe|perhaps|possibly|partially|partly|somewhat|sort of|kind of|hard to (?:say|tell)|difficult to (?:say|tell)|i(?:'m| am) not (?:sure|certain)|i don'?t know|i do not know|(?:i )?can(?:not|'t| not) (?:tell|say|determine|see|be sure)|(?:i(?:'m| am) )?unable to (?:tell|say|determine)|it(?:'s| is) (?:unclear|hard to (?:say|tell)|not clear)|n\/a|not (?:possible|able) to (?:tell|say|determine))\b/;
const YES_START = /^(?:yes|yeah|yep|yup|yea|y|correct|true|affirmative|indeed|definitely|absolutely|certainly|sure)\b/;
const NO_START = /^(?:no|nope|nah|n|false|incorrect|negative|not|none|never)\b/;

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

/** Free text: the last JSON object's value under one of `jsonKeys`, else the prose without an `Answer:` prefix; capped. */
export function freeText(text: string, jsonKeys: string[], maxChars: number): ParsedAnswererOutput {
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
