import type { Rng } from '../datasets/prng';
import { BACKGROUND_COLORS, MAX_OBJECTS, type Scene } from '../datasets/scene';
import {
  formatQuestion,
  parseDescriptionFacts,
  parseQuestion,
  predicateComplexity,
  predicateKey,
  type Desc,
  type ParsedQuestion,
  type Predicate,
} from './grammar';
import { StringMemo } from './memo';
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

/** A question of the dialog as the questioner reads it: parsed, and the predicateKey of a yes/no one. Pure, so remembered by its text. */
interface ReadQuestion {
  parsed: ParsedQuestion | undefined;
  key?: string;
}
const readQuestions = new StringMemo<ReadQuestion>((text) => {
  const parsed = parseQuestion(text);
  return parsed?.type === 'yesno' ? { parsed, key: predicateKey(parsed.predicate) } : { parsed };
});
const descriptionFacts = new StringMemo<Predicate[]>(parseDescriptionFacts);
const yesNoValues = new StringMemo<boolean | undefined>(yesNoValue, 10_000, 256);

/** Empties the questioner's memos of questions, descriptions and answers read (tests). */
export function clearReadingMemos(): void {
  readQuestions.clear();
  descriptionFacts.clear();
  yesNoValues.clear();
}

function factsOf(state: QuestionerState): Fact[] {
  const facts: Fact[] = [];
  for (const description of state.descriptions ?? []) {
    for (const predicate of descriptionFacts.get(description)) facts.push({ predicate, value: true });
  }
  for (const step of state.history) {
    const parsed = readQuestions.get(step.question).parsed;
    const value = yesNoValues.get(step.answer);
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

/** A candidate question with its predicateKey and predicateComplexity, worked out once. */
interface CandidateQuestion {
  key: string;
  predicate: Predicate;
  complexity: number;
  /** Index in the interned table, or -1 when the table was full (then nothing about it is remembered). */
  id: number;
}

/**
 * Per-scene work of bestQuestion, remembered by the scene's content (what candidatePredicates and
 * evaluatePredicate read of it: the background and each object's attributes, in order), so that it is
 * the same for an equal scene in another request and can never go stale: the scene's candidate
 * questions (deduplicated, in candidatePredicatesByKey's order) and the answers to the candidate
 * questions asked of it so far (evaluatePredicate, filled on demand, by question id: 0 not known yet,
 * 1 false, 2 true). Bounded; results are the same with the caches cleared (clearQuestionCaches).
 */
interface SceneQuestions {
  candidates: CandidateQuestion[];
  truths: Uint8Array;
}

const SCENE_QUESTIONS_MAX = 4096;
/** Candidate questions interned: the canonical ones of valid scenes are ~2,200. */
const INTERNED_MAX = 16_384;
const sceneQuestions = new Map<string, SceneQuestions>();
/** Candidate questions by key, each with its id (its index in `internedList`). */
const interned = new Map<string, CandidateQuestion>();
let internedList: CandidateQuestion[] = [];
/** bestQuestion's "already considered in this call" marks, by question id. */
let consideredMarks = new Uint32Array(1024);
let considerEpoch = 0;

/** Empties bestQuestion's caches and the questioner's memos (tests: results must not depend on them). */
export function clearQuestionCaches(): void {
  sceneQuestions.clear();
  interned.clear();
  internedList = [];
  COUNT_QUESTIONS = undefined;
  clearReadingMemos();
}

function candidateQuestion(predicate: Predicate): CandidateQuestion {
  const key = predicateKey(predicate);
  const known = interned.get(key);
  if (known) return known;
  const full = internedList.length >= INTERNED_MAX;
  const question = { key, predicate, complexity: predicateComplexity(predicate), id: full ? -1 : internedList.length };
  if (!full) {
    interned.set(key, question);
    internedList.push(question);
  }
  return question;
}

let COUNT_QUESTIONS: CandidateQuestion[] | undefined;
/** The count questions candidatePredicates ends with, whatever the scenes. */
function countQuestions(): CandidateQuestion[] {
  if (COUNT_QUESTIONS) return COUNT_QUESTIONS;
  const out: CandidateQuestion[] = [];
  for (let n = 1; n <= MAX_OBJECTS; n++) out.push(candidateQuestion({ kind: 'count', desc: {}, op: 'eq', n }));
  for (let n = 2; n <= MAX_OBJECTS; n++) out.push(candidateQuestion({ kind: 'count', desc: {}, op: 'ge', n }));
  return (COUNT_QUESTIONS = out);
}

/** Order-preserving identity of what bestQuestion reads of a scene; undefined when a field is not a string (then nothing is cached). */
function sceneContentKey(scene: Scene): string | undefined {
  if (typeof scene.background !== 'string') return undefined;
  let key = `${scene.background.length}:${scene.background}`;
  for (const o of scene.objects) {
    const { color, shape, size, column, row } = o as Record<string, unknown>;
    if (typeof color !== 'string' || typeof shape !== 'string' || typeof size !== 'string' || typeof column !== 'string' || typeof row !== 'string')
      return undefined;
    key += `|${color.length}:${color}|${shape.length}:${shape}|${size.length}:${size}|${column.length}:${column}|${row.length}:${row};`;
  }
  return key;
}

function questionsOf(scene: Scene): SceneQuestions {
  const contentKey = sceneContentKey(scene);
  const cached = contentKey === undefined ? undefined : sceneQuestions.get(contentKey);
  if (cached) return cached;
  const seen = new Set<string>();
  const candidates: CandidateQuestion[] = [];
  const add = (p: Predicate): void => {
    const question = candidateQuestion(p);
    if (seen.has(question.key)) return;
    seen.add(question.key);
    candidates.push(question);
  };
  for (const o of scene.objects) {
    for (const desc of subsetsOf({ color: o.color, shape: o.shape, size: o.size, column: o.column, row: o.row })) add({ kind: 'exists', desc });
    for (const desc of [{ color: o.color }, { shape: o.shape }, { size: o.size }]) add({ kind: 'count', desc, op: 'ge', n: 2 });
  }
  if (BACKGROUND_COLORS.includes(scene.background)) add({ kind: 'background', color: scene.background });
  const questions: SceneQuestions = { candidates, truths: new Uint8Array(Math.max(internedList.length, 64)) };
  if (contentKey !== undefined) {
    if (sceneQuestions.size >= SCENE_QUESTIONS_MAX) sceneQuestions.clear();
    sceneQuestions.set(contentKey, questions);
  }
  return questions;
}

function holds(scene: Scene, questions: SceneQuestions, question: CandidateQuestion): boolean {
  const id = question.id;
  if (id < 0) return evaluatePredicate(scene, question.predicate);
  let truths = questions.truths;
  if (id >= truths.length) {
    truths = new Uint8Array(Math.max(id + 1, truths.length * 2));
    truths.set(questions.truths);
    questions.truths = truths;
  }
  const known = truths[id]!;
  if (known !== 0) return known === 2;
  const truth = evaluatePredicate(scene, question.predicate);
  truths[id] = truth ? 2 : 1;
  return truth;
}

/**
 * The not-yet-asked question that splits `scenes` most evenly; among equally good ones the simplest,
 * then a seeded pick (so that games do not all read alike). Undefined when none tells any two apart.
 * Goes through candidatePredicates(scenes) in order, with the per-scene work remembered (questionsOf).
 */
export function bestQuestion(scenes: readonly Scene[], askedKeys: ReadonlySet<string>, rng: Rng): Predicate | undefined {
  const perScene = scenes.map(questionsOf);
  const counts = countQuestions();
  // Every question met below is interned by now: the marks cover every id.
  let best: Predicate[] = [];
  let bestScore = 0;
  let bestComplexity = Infinity;
  if (consideredMarks.length < internedList.length) consideredMarks = new Uint32Array(internedList.length * 2);
  if (++considerEpoch === 0xffffffff) {
    consideredMarks.fill(0);
    considerEpoch = 1;
  }
  const epoch = considerEpoch;
  const marks = consideredMarks;
  // Questions that are not interned (table full) are deduplicated by key.
  let uninterned: Set<string> | undefined;
  for (let s = 0; s <= perScene.length; s++) {
    const questions = s < perScene.length ? perScene[s]!.candidates : counts;
    for (let q = 0; q < questions.length; q++) {
      const question = questions[q]!;
      if (question.id >= 0) {
        if (marks[question.id] === epoch) continue;
        marks[question.id] = epoch;
      } else {
        uninterned ??= new Set();
        if (uninterned.has(question.key)) continue;
        uninterned.add(question.key);
      }
      if (askedKeys.has(question.key)) continue;
      let yes = 0;
      for (let i = 0; i < scenes.length; i++) if (holds(scenes[i]!, perScene[i]!, question)) yes++;
      const score = Math.min(yes, scenes.length - yes);
      if (score === 0) continue;
      const complexity = question.complexity;
      if (score > bestScore || (score === bestScore && complexity < bestComplexity)) {
        best = [question.predicate];
        bestScore = score;
        bestComplexity = complexity;
      } else if (score === bestScore && complexity === bestComplexity) {
        best.push(question.predicate);
      }
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
    const key = readQuestions.get(step.question).key;
    if (key !== undefined) askedKeys.add(key);
  }
  const readable = remaining.flatMap((i) => state.candidates[i] ?? []);
  const predicate = readable.length > 1 ? bestQuestion(readable, askedKeys, rng) : undefined;
  if (!predicate) return guess();
  return { kind: 'question', text: formatQuestion(predicate), predicate, remaining };
}
