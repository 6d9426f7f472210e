import type { Rng } from '../datasets/prng';
import { BACKGROUND_COLORS, MAX_OBJECTS, type Scene } from '../datasets/scene';
import { formatQuestion, parseDescriptionFacts, parseQuestion, predicateComplexity, predicateKey, type Desc, type Predicate } from './grammar';
import { evaluatePredicate } from './scene-reasoning';

/**
 * The simulated questioner: keeps the candidates that agree best with every answer so far and asks
 * the yes/no question that splits them most evenly; guesses when one is left, when no question
 * tells the rest apart, or when it must.
 *
 * Candidates without readable scene metadata are what a real model could not make sense of: the
 * questioner reasons and guesses among the images it can read, and guesses blindly only when it
 * can read none.
 */

export interface DialogStep {
  question: string;
  /** The answer as given ("yes", "No.", "unsure", ...). */
  answer: string;
}

export interface QuestionerState {
  /** Candidate scenes in display order; undefined for an image without readable scene metadata. */
  candidates: ReadonlyArray<Scene | undefined>;
  history: readonly DialogStep[];
  /** Descriptions of the target given so far (describeFirst). */
  descriptions?: readonly string[];
  mustGuess: boolean;
}

export type QuestionerMove =
  | { kind: 'question'; text: string; predicate: Predicate; remaining: number[] }
  /** index is 0-based in display order. */
  | { kind: 'guess'; index: number; remaining: number[] };

/** yes → true, no → false, anything else (unsure, prose) → undefined. */
export function yesNoValue(answer: string): boolean | undefined {
  const text = answer
    .toLowerCase()
    .replace(/^\s*answer\s*[:=-]\s*/, '')
    .replace(/[{}"]/g, ' ')
    .replace(/\banswer\s*:/, '')
    .trim();
  if (/^(yes|yeah|yep|true|correct)\b/.test(text)) return true;
  if (/^(no|nope|false|incorrect)\b/.test(text)) return false;
  return undefined;
}

interface Fact {
  predicate: Predicate;
  value: boolean;
}

function factsOf(state: QuestionerState): Fact[] {
  const facts: Fact[] = [];
  for (const description of state.descriptions ?? []) {
    for (const predicate of parseDescriptionFacts(description)) facts.push({ predicate, value: true });
  }
  for (const step of state.history) {
    const parsed = parseQuestion(step.question);
    const value = yesNoValue(step.answer);
    if (parsed?.type === 'yesno' && value !== undefined) facts.push({ predicate: parsed.predicate, value });
  }
  return facts;
}

/**
 * Candidates (0-based) that contradict the fewest facts. With truthful answers that is exactly the
 * consistent set; with noisy answers it degrades gracefully instead of becoming empty.
 */
export function remainingCandidates(state: QuestionerState): number[] {
  const facts = factsOf(state);
  const known = state.candidates.flatMap((scene, i) => (scene ? [i] : []));
  if (known.length === 0) return state.candidates.map((_, i) => i);
  const mismatches = known.map((i) => facts.filter((f) => evaluatePredicate(state.candidates[i]!, f.predicate) !== f.value).length);
  const fewest = Math.min(...mismatches);
  return known.filter((_, k) => mismatches[k] === fewest);
}

function subsetsOf(desc: Required<Desc>): Desc[] {
  const keys = Object.keys(desc) as Array<keyof Desc>;
  const out: Desc[] = [];
  for (let mask = 1; mask < 1 << keys.length; mask++) {
    const d: Desc = {};
    keys.forEach((key, bit) => {
      if (mask & (1 << bit)) (d as Record<string, string>)[key] = desc[key];
    });
    out.push(d);
  }
  return out;
}

/** Every canonical question that is true of at least one of `scenes`, plus count and background questions. */
export function candidatePredicates(scenes: readonly Scene[]): Predicate[] {
  return [...candidatePredicatesByKey(scenes).values()];
}

/** candidatePredicates by their predicateKey, in the same order. */
function candidatePredicatesByKey(scenes: readonly Scene[]): Map<string, Predicate> {
  const byKey = new Map<string, Predicate>();
  const add = (p: Predicate): void => {
    const key = predicateKey(p);
    if (!byKey.has(key)) byKey.set(key, p);
  };
  for (const scene of scenes) {
    for (const o of scene.objects) {
      for (const desc of subsetsOf({ color: o.color, shape: o.shape, size: o.size, column: o.column, row: o.row })) add({ kind: 'exists', desc });
      for (const desc of [{ color: o.color }, { shape: o.shape }, { size: o.size }]) add({ kind: 'count', desc, op: 'ge', n: 2 });
    }
    if (BACKGROUND_COLORS.includes(scene.background)) add({ kind: 'background', color: scene.background });
  }
  for (let n = 1; n <= MAX_OBJECTS; n++) add({ kind: 'count', desc: {}, op: 'eq', n });
  for (let n = 2; n <= MAX_OBJECTS; n++) add({ kind: 'count', desc: {}, op: 'ge', n });
  return byKey;
}

/**
 * The not-yet-asked question that splits `scenes` most evenly; among equally good ones the simplest,
 * then a seeded pick (so that games do not all read alike). Undefined when none tells any two apart.
 */
export function bestQuestion(scenes: readonly Scene[], askedKeys: ReadonlySet<string>, rng: Rng): Predicate | undefined {
  let best: Predicate[] = [];
  let bestScore = 0;
  let bestComplexity = Infinity;
  for (const [key, predicate] of candidatePredicatesByKey(scenes)) {
    if (askedKeys.has(key)) continue;
    const yes = scenes.filter((s) => evaluatePredicate(s, predicate)).length;
    const score = Math.min(yes, scenes.length - yes);
    if (score === 0) continue;
    const complexity = predicateComplexity(predicate);
    if (score > bestScore || (score === bestScore && complexity < bestComplexity)) {
      best = [predicate];
      bestScore = score;
      bestComplexity = complexity;
    } else if (score === bestScore && complexity === bestComplexity) {
      best.push(predicate);
    }
  }
  return best.length === 0 ? undefined : rng.pick(best);
}

export function chooseQuestionerMove(state: QuestionerState, rng: Rng): QuestionerMove {
  const remaining = remainingCandidates(state);
  const guess = (): QuestionerMove => ({ kind: 'guess', index: rng.pick(remaining), remaining });
  if (state.mustGuess || remaining.length <= 1) return guess();
  const askedKeys = new Set<string>();
  for (const step of state.history) {
    const parsed = parseQuestion(step.question);
    if (parsed?.type === 'yesno') askedKeys.add(predicateKey(parsed.predicate));
  }
  const readable = remaining.flatMap((i) => state.candidates[i] ?? []);
  const predicate = readable.length > 1 ? bestQuestion(readable, askedKeys, rng) : undefined;
  if (!predicate) return guess();
  return { kind: 'question', text: formatQuestion(predicate), predicate, remaining };
}
