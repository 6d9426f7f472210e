import {
  collapseWhitespace,
  excerpt,
  extractJsonObjects,
  lookup,
  numberFromToken,
  NUMBER_WORDS,
  ORDINAL_WORDS,
  stripMarkdown,
  stripReasoning,
  unquote,
  type JsonObject,
} from './model-output';

/**
 * What the questioner's model said. `index` is 0-based in display order; the model speaks 1-based
 * image numbers. `no_guess` is an explicit refusal to pick (e.g. `{"guess": null}` or "none").
 */
export type ParsedQuestionerOutput =
  { kind: 'question'; text: string } | { kind: 'guess'; index: number } | { kind: 'no_guess'; reason: string } | { kind: 'unparseable'; reason: string };

/** Longer "questions" are prose, not a question to pass on to the answerer. */
export const MAX_QUESTION_CHARS = 500;

const NUMBER_TOKEN = `(\\d{1,3}(?:st|nd|rd|th)?|${NUMBER_WORDS.join('|')}|${ORDINAL_WORDS.join('|')})`;
const IMAGE_NOUN = '(?:image|picture|photo|pic|img|candidate|option|number|no\\.?)';
/** "Question: ...", "**Question 3:** ...", "My next question - ..." at the start of a line. */
const QUESTION_MARKER = /(?:^|\n)[\s>*#-]*(?:my\s+)?(?:next\s+)?question(?:\s*\d+)?\s*[:\-–]\s*(.+)/i;
const NO_GUESS_VALUES = new Set(['', 'none', 'null', 'unknown', 'n/a', 'na', 'no guess', 'undecided', 'not sure', 'unsure', "i don't know"]);

/**
 * Parses a questioner completion. Accepted, in order of trust:
 *  1. JSON anywhere in the text (code fences, prose around it): `{"question": "..."}`,
 *     `{"guess": 3}` (also `"3"`, `"Image 3"`, `"third"`), or `{"action": "guess", "image": 3}`;
 *     when several objects decide, the last one wins (models restate a corrected answer).
 *  2. An explicit guess in prose: `Guess: 3`, `I guess image 3`, `My final guess is the third image`,
 *     `The target is image 3`, or the whole output being `Image 3` / `3`.
 *  3. `Question: ...`, else the last sentence ending in `?`.
 * A guess outside 1..numCandidates is unparseable (it names no candidate, and the referee's
 * rule_violation is kept for protocol breaches in the transcript). JSON with both a question and a
 * guess is unparseable too: which one the model meant is a guess on our side.
 */
export function parseQuestionerOutput(rawText: string, numCandidates: number): ParsedQuestionerOutput {
  const text = stripReasoning(rawText ?? '');
  if (text.trim() === '') return { kind: 'unparseable', reason: 'empty output' };

  let fromJson: ParsedQuestionerOutput | undefined;
  for (const obj of extractJsonObjects(text)) {
    const decision = fromJsonObject(obj, numCandidates);
    if (decision !== undefined) fromJson = decision;
  }
  if (fromJson !== undefined) return fromJson;

  const plain = stripMarkdown(text);
  const guess = guessFromProse(plain);
  if (guess !== undefined) return checkGuessRange(guess, numCandidates);

  const marked = QUESTION_MARKER.exec(plain);
  if (marked) return questionOrUnparseable(marked[1] ?? '');

  const bare = lastQuestionSentence(plain);
  if (bare !== undefined) return questionOrUnparseable(bare);

  return { kind: 'unparseable', reason: `no question or guess found in: ${excerpt(text)}` };
}

function fromJsonObject(obj: JsonObject, numCandidates: number): ParsedQuestionerOutput | undefined {
  let question = lookup(obj, 'question', 'q');
  let guess = lookup(obj, 'guess', 'final_guess', 'finalGuess');
  const action = lookup(obj, 'action', 'type', 'move');
  if (typeof action.value === 'string') {
    const value = lookup(obj, 'value', 'content', 'text', 'image', 'index', 'number', 'question', 'guess');
    if (/^guess$/i.test(action.value.trim())) guess = value;
    else if (/^(ask|question)$/i.test(action.value.trim())) question = value;
  }
  const hasQuestion = question.has && typeof question.value === 'string' && question.value.trim() !== '';
  const hasGuess = guess.has && !isNoGuessValue(guess.value);
  if (hasQuestion && hasGuess) return { kind: 'unparseable', reason: 'JSON holds both a question and a guess' };
  if (hasGuess) {
    const number = guessNumberFromValue(guess.value);
    if (number === undefined) return { kind: 'unparseable', reason: `guess ${JSON.stringify(guess.value)} is not an image number` };
    return checkGuessRange(number, numCandidates);
  }
  if (hasQuestion) return questionOrUnparseable(question.value as string);
  if (guess.has) return { kind: 'no_guess', reason: `the questioner declined to guess (${JSON.stringify(guess.value)})` };
  if (question.has) return { kind: 'unparseable', reason: 'JSON question is empty' };
  return undefined;
}

function isNoGuessValue(value: unknown): boolean {
  if (value === null || value === undefined || value === false) return true;
  return typeof value === 'string' && NO_GUESS_VALUES.has(collapseWhitespace(value).toLowerCase());
}

function guessNumberFromValue(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const cleaned = collapseWhitespace(value.toLowerCase()).replace(/[.!]$/, '');
  const direct = numberFromToken(cleaned.replace(/^#\s*/, ''));
  if (direct !== undefined) return direct;
  const token = firstGroup(LABELLED_VALUE.exec(cleaned));
  return token === undefined ? undefined : numberFromToken(token);
}

/** A JSON guess value such as "image 3", "picture #two", "the third image". */
const LABELLED_VALUE = new RegExp(`^(?:the\\s+)?(?:${IMAGE_NOUN}\\s*#?\\s*${NUMBER_TOKEN}|${NUMBER_TOKEN}\\s+(?:image|picture|one))$`, 'i');
/** The whole output is just a label: "Image 3", "#3", "3", "image three". */
const LABEL_ONLY = new RegExp(`^(?:(?:${IMAGE_NOUN})\\s*)?#?\\s*${NUMBER_TOKEN}$`, 'i');

const ORDINAL_TOKEN = `(\\d{1,2}(?:st|nd|rd|th)|${ORDINAL_WORDS.join('|')})`;
/**
 * After the lead-in, an image number in one of the forms that cannot be mistaken for prose:
 * "image 3" / "picture #three", a bare "3" / "#3", or "the third image" / "the 3rd one".
 * A bare number word is not accepted there ("I guess the one with..." is no guess).
 */
const GUESS_TARGET = `(?:the\\s+)?(?:${IMAGE_NOUN}\\s*#?\\s*${NUMBER_TOKEN}\\b|#?\\s*(\\d{1,3})\\b(?!\\s*(?:of|out|objects?|shapes?|circles?|squares?|triangles?|stars?|things|items|colou?rs)\\b)|${ORDINAL_TOKEN}\\s+(?:image|picture|photo|one)\\b)`;

const PROSE_GUESS_PATTERNS: RegExp[] = [
  // "Guess: 3", "I guess image 3", "My final guess is image #3", "I'll guess it's the third image"
  new RegExp(`\\bguess(?:es|ed)?\\b\\s*(?:is|would be|will be)?\\s*[:=\\-–]?\\s*(?:that\\s+)?(?:it(?:'s|\\s+is)\\s+)?${GUESS_TARGET}`, 'i'),
  // "The target is image 3", "Final answer: Image 3", "It is picture #2", "The answer is the third image"
  new RegExp(
    `\\b(?:target|answer|choice|it)(?:'s|\\s+is|\\s*:)\\s*(?:the\\s+)?(?:(?:image|picture|photo|candidate|option)\\s*#?\\s*${NUMBER_TOKEN}\\b|${ORDINAL_TOKEN}\\s+(?:image|picture|photo|one)\\b)`,
    'i',
  ),
];

function guessFromProse(plain: string): number | undefined {
  for (const pattern of PROSE_GUESS_PATTERNS) {
    const token = firstGroup(pattern.exec(plain));
    const number = token === undefined ? undefined : numberFromToken(token);
    if (number !== undefined) return number;
  }
  const whole = collapseWhitespace(unquote(plain)).replace(/[.!]$/, '');
  const token = firstGroup(LABEL_ONLY.exec(whole));
  return token === undefined ? undefined : numberFromToken(token);
}

function firstGroup(match: RegExpExecArray | null): string | undefined {
  return match?.slice(1).find((group) => group !== undefined);
}

function checkGuessRange(number: number, numCandidates: number): ParsedQuestionerOutput {
  if (!Number.isInteger(number) || number < 1 || number > numCandidates) {
    return { kind: 'unparseable', reason: `guess ${number} is not an image number from 1 to ${numCandidates}` };
  }
  return { kind: 'guess', index: number - 1 };
}

function questionOrUnparseable(raw: string): ParsedQuestionerOutput {
  const text = collapseWhitespace(
    unquote(stripMarkdown(raw))
      .replace(/^[\s>*#-]+/, '')
      .replace(/^["'“‘«]+(?=\S)/, '')
      .replace(/(?<=\?)["'”’»]+$/, ''),
  );
  if (text === '' || text === '?') return { kind: 'unparseable', reason: 'question is empty' };
  if (text.length > MAX_QUESTION_CHARS) return { kind: 'unparseable', reason: `question longer than ${MAX_QUESTION_CHARS} characters` };
  return { kind: 'question', text };
}

/**
 * The sentence that ends at the last `?`: walks back to the previous line break or sentence end
 * (`.`, `!`, `?`, `:` followed by a space), so thinking-aloud before the question is dropped.
 */
function lastQuestionSentence(plain: string): string | undefined {
  const end = plain.lastIndexOf('?');
  if (end < 0) return undefined;
  let start = end - 1;
  while (start >= 0) {
    const ch = plain[start];
    if (ch === '\n') break;
    if ((ch === '.' || ch === '!' || ch === '?' || ch === ':') && /\s/.test(plain[start + 1] ?? '')) break;
    start--;
  }
  return plain.slice(start + 1, end + 1);
}
