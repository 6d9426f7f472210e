import { BACKGROUND_COLORS, OBJECT_COLORS, cellPhrase, numberWord, withArticle, type Column, type Row, type Size } from '../datasets/scene';

/**
 * The simulator's question grammar, shared by both of its roles: the questioner formats its
 * canonical questions here and the answerer parses them back, together with the free-form questions
 * a real model asks ("Is the circle red?", "How many objects are there?", "Is there a blue square on
 * the left?"). Anything outside the grammar parses to undefined, and the answerer says "unsure".
 *
 * Colour and shape words outside the synthetic palette (cyan, hexagon, ...) are understood but
 * match nothing, so "Is there a hexagon?" is a confident "no", as a model that sees the image would say.
 */

/** An object description; every field given must match. */
export interface Desc {
  color?: string;
  shape?: string;
  size?: Size;
  column?: Column;
  row?: Row;
}

export type CountOp = 'eq' | 'ge' | 'le' | 'gt' | 'lt';
export type Relation = 'leftOf' | 'rightOf' | 'above' | 'below';

export type Predicate =
  | { kind: 'exists'; desc: Desc }
  | { kind: 'count'; desc: Desc; op: CountOp; n: number }
  | { kind: 'background'; color: string }
  /** "Is the circle red?": some object matching `subject` also matches `property`. */
  | { kind: 'the'; subject: Desc; property: Desc }
  /** "Are all the circles red?": there are subjects and all match `property`. */
  | { kind: 'every'; subject: Desc; property: Desc }
  | { kind: 'relation'; a: Desc; relation: Relation; b: Desc }
  | { kind: 'and'; parts: Predicate[] }
  | { kind: 'or'; parts: Predicate[] };

export type OpenQuery =
  | { kind: 'describe' }
  | { kind: 'whatColor'; subject: Desc }
  | { kind: 'whatShape'; subject: Desc }
  | { kind: 'whatSize'; subject: Desc }
  | { kind: 'where'; subject: Desc }
  | { kind: 'whatIs'; subject: Desc }
  | { kind: 'howMany'; subject: Desc }
  | { kind: 'backgroundColor' };

export type ParsedQuestion = { type: 'yesno'; predicate: Predicate } | { type: 'open'; query: OpenQuery };

// ---------------------------------------------------------------------------------------------
// Vocabulary

const PALETTE_COLORS: readonly string[] = [...OBJECT_COLORS, ...BACKGROUND_COLORS];
const COLOR_SYNONYMS: Readonly<Record<string, string>> = { grey: 'gray', violet: 'purple', cream: 'beige', crimson: 'red', scarlet: 'red' };
const FOREIGN_COLORS = ['cyan', 'teal', 'turquoise', 'gold', 'silver', 'magenta', 'maroon', 'lime', 'indigo', 'olive', 'navy'];

const SHAPE_WORDS: Readonly<Record<string, string>> = {
  circle: 'circle',
  circles: 'circle',
  circular: 'circle',
  round: 'circle',
  dot: 'circle',
  dots: 'circle',
  disc: 'circle',
  discs: 'circle',
  disk: 'circle',
  disks: 'circle',
  ball: 'circle',
  balls: 'circle',
  square: 'square',
  squares: 'square',
  rectangle: 'square',
  rectangles: 'square',
  rectangular: 'square',
  box: 'square',
  boxes: 'square',
  triangle: 'triangle',
  triangles: 'triangle',
  triangular: 'triangle',
  star: 'star',
  stars: 'star',
};
const FOREIGN_SHAPES: Readonly<Record<string, string>> = Object.fromEntries(
  [
    ['hexagon', 'hexagons'],
    ['pentagon', 'pentagons'],
    ['heart', 'hearts'],
    ['diamond', 'diamonds'],
    ['oval', 'ovals'],
    ['ellipse', 'ellipses'],
    ['cross', 'crosses'],
    ['rhombus', 'rhombuses'],
    ['arrow', 'arrows'],
    ['crescent', 'crescents'],
    ['moon', 'moons'],
    ['line', 'lines'],
  ].flatMap(([singular, plural]) => [
    [singular!, singular!],
    [plural!, singular!],
  ]),
);

const SIZE_WORDS: Readonly<Record<string, Size>> = { small: 'small', little: 'small', tiny: 'small', large: 'large', big: 'large', huge: 'large' };

const GENERIC_NOUNS = new Set([
  'object',
  'objects',
  'shape',
  'shapes',
  'thing',
  'things',
  'item',
  'items',
  'figure',
  'figures',
  'element',
  'elements',
  'form',
  'forms',
  'one',
  'ones',
  'something',
  'anything',
]);

/** Words that carry no meaning inside a noun phrase. */
const FILLER = new Set([
  'a',
  'an',
  'the',
  'any',
  'some',
  'of',
  'on',
  'in',
  'at',
  'to',
  'is',
  'are',
  'there',
  'located',
  'positioned',
  'placed',
  'situated',
  'visible',
  'present',
  'shown',
  'drawn',
  'side',
  'hand',
  'corner',
  'part',
  'half',
  'area',
  'region',
  'portion',
  'section',
  'image',
  'picture',
  'photo',
  'scene',
  'its',
  'colored',
  'shaped',
  'color',
  'colors',
  'that',
  'which',
  'with',
  'do',
  'you',
  'see',
  'can',
  'does',
  'contain',
  'contains',
  'have',
  'has',
  'show',
  'shows',
  'include',
  'includes',
  'i',
  'your',
  'this',
  'exist',
  'exists',
  'both',
  'either',
  'also',
  'please',
  'sized',
  'size',
  'somewhere',
  'anywhere',
  'appear',
  'appears',
  'it',
  'here',
  'within',
  'inside',
  'found',
  'depicted',
]);

const NUMBERS: Readonly<Record<string, number>> = {
  zero: 0,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  single: 1,
};

function numberOf(token: string | undefined): number | undefined {
  if (token === undefined) return undefined;
  if (/^\d{1,2}$/.test(token)) return Number(token);
  return NUMBERS[token];
}

function colorOf(token: string): string | undefined {
  if (PALETTE_COLORS.includes(token)) return token;
  if (COLOR_SYNONYMS[token]) return COLOR_SYNONYMS[token];
  if (FOREIGN_COLORS.includes(token)) return token;
  return undefined;
}

function shapeOf(token: string): string | undefined {
  return SHAPE_WORDS[token] ?? FOREIGN_SHAPES[token];
}

// ---------------------------------------------------------------------------------------------
// Tokens

/** Lower-case words; multi-word quantifiers fused into one token so that "or" splits stay simple. */
export function tokenize(text: string): string[] {
  const words = text
    .toLowerCase()
    .replace(/[’‘]/g, "'")
    .replace(/colour/g, 'color')
    .replace(/centre/g, 'center')
    .replace(/grey/g, 'gray')
    .replace(/[^a-z0-9']+/g, ' ')
    .replace(/'/g, '')
    .split(' ')
    .filter(Boolean);
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const [w, next, after] = [words[i]!, words[i + 1], words[i + 2]];
    if (w === 'at' && next === 'least') {
      out.push('atleast');
      i++;
      continue;
    }
    if (w === 'at' && next === 'most') {
      out.push('atmost');
      i++;
      continue;
    }
    if ((w === 'more' || w === 'greater') && next === 'than') {
      out.push('morethan');
      i++;
      continue;
    }
    if ((w === 'fewer' || w === 'less') && next === 'than') {
      out.push('fewerthan');
      i++;
      continue;
    }
    if (w === 'higher' && next === 'than') {
      out.push('above');
      i++;
      continue;
    }
    if (w === 'lower' && next === 'than') {
      out.push('below');
      i++;
      continue;
    }
    if (numberOf(w) !== undefined && next === 'or' && (after === 'more' || after === 'fewer' || after === 'less')) {
      out.push(after === 'more' ? 'atleast' : 'atmost', w);
      i += 2;
      continue;
    }
    out.push(w);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Noun phrases

interface NounPhrase {
  desc: Desc;
  hasNoun: boolean;
  quantity?: { op: CountOp; n: number };
}

function setOnce<K extends keyof Desc>(desc: Desc, key: K, value: Desc[K]): boolean {
  if (desc[key] !== undefined && desc[key] !== value) return false;
  desc[key] = value;
  return true;
}

const QUANTITY_OPS: Readonly<Record<string, CountOp>> = { exactly: 'eq', only: 'eq', just: 'eq', atleast: 'ge', atmost: 'le', morethan: 'gt', fewerthan: 'lt' };

/** A leading quantity ("exactly two", "at least 3", "more than one", "no", "a single", "two"). */
function parseQuantity(tokens: string[]): { quantity?: { op: CountOp; n: number }; rest: string[] } | undefined {
  const [first, second] = tokens;
  if (first === undefined) return { rest: tokens };
  const op = QUANTITY_OPS[first];
  if (op !== undefined) {
    let at = 1;
    let n: number | undefined;
    if (second === 'a' || second === 'an') {
      n = 1;
      at++;
    } else {
      n = numberOf(second);
      if (n !== undefined) at++;
    }
    if (tokens[at] === 'single') at++;
    // "only red objects" has no number: read it as plain existence.
    if (n === undefined) return op === 'eq' ? { rest: tokens.slice(1) } : undefined;
    return { quantity: { op, n }, rest: tokens.slice(at) };
  }
  if (first === 'multiple' || first === 'several' || first === 'many') return { quantity: { op: 'ge', n: 2 }, rest: tokens.slice(1) };
  if (first === 'no') return { quantity: { op: 'eq', n: 0 }, rest: tokens.slice(1) };
  if ((first === 'a' || first === 'one') && second === 'single') return { quantity: { op: 'eq', n: 1 }, rest: tokens.slice(2) };
  if (first === 'single') return { quantity: { op: 'eq', n: 1 }, rest: tokens.slice(1) };
  // A bare "one" is an article: "Is there one red circle?" asks for existence.
  const n = numberOf(first);
  if (n !== undefined && first !== 'one') return { quantity: { op: 'eq', n }, rest: tokens.slice(1) };
  return { rest: tokens };
}

/** Colours, shapes, sizes and position words of one noun phrase; undefined on any unknown word or conflict. */
function parseNounPhrase(tokens: string[], allowQuantity: boolean): NounPhrase | undefined {
  let rest = tokens;
  let quantity: NounPhrase['quantity'];
  if (allowQuantity) {
    const q = parseQuantity(tokens.filter((t) => t !== 'are' && t !== 'is' && t !== 'there'));
    if (!q) return undefined;
    quantity = q.quantity;
    rest = q.rest;
  }
  const desc: Desc = {};
  let hasNoun = false;
  const columns: Column[] = [];
  const rows: Row[] = [];
  let centers = 0;
  let centerAxis: 'column' | 'row' | undefined;
  for (let i = 0; i < rest.length; i++) {
    const t = rest[i]!;
    const color = colorOf(t);
    const shape = shapeOf(t);
    if (color !== undefined) {
      if (!setOnce(desc, 'color', color)) return undefined;
    } else if (shape !== undefined) {
      if (!setOnce(desc, 'shape', shape)) return undefined;
      hasNoun = true;
    } else if (SIZE_WORDS[t] !== undefined) {
      if (!setOnce(desc, 'size', SIZE_WORDS[t])) return undefined;
    } else if (t === 'left' || t === 'right') {
      columns.push(t);
    } else if (t === 'top' || t === 'upper') {
      rows.push('top');
    } else if (t === 'bottom' || t === 'lower') {
      rows.push('bottom');
    } else if (t === 'center' || t === 'middle' || t === 'central') {
      centers++;
      const next = rest[i + 1];
      if (next === 'column' || next === 'columns') centerAxis = 'column';
      if (next === 'row' || next === 'rows') centerAxis = 'row';
    } else if (t === 'column' || t === 'row' || t === 'columns' || t === 'rows') {
      // axis words only qualify "center"/"middle"
    } else if (GENERIC_NOUNS.has(t)) {
      hasNoun = true;
    } else if (!FILLER.has(t)) {
      return undefined;
    }
  }
  if (new Set(columns).size > 1 || new Set(rows).size > 1 || centers > 1) return undefined;
  if (columns[0]) desc.column = columns[0];
  if (rows[0]) desc.row = rows[0];
  if (centers === 1) {
    if (centerAxis === 'column' || (centerAxis === undefined && desc.row !== undefined && desc.column === undefined)) {
      if (desc.column !== undefined) return undefined;
      desc.column = 'center';
    } else if (centerAxis === 'row' || (centerAxis === undefined && desc.column !== undefined && desc.row === undefined)) {
      if (desc.row !== undefined) return undefined;
      desc.row = 'middle';
    } else if (desc.row === undefined && desc.column === undefined) {
      desc.row = 'middle';
      desc.column = 'center';
    } else {
      return undefined;
    }
  }
  return { desc, hasNoun, ...(quantity ? { quantity } : {}) };
}

function isEmptyDesc(desc: Desc): boolean {
  return Object.values(desc).every((v) => v === undefined);
}

function mergeDescs(descs: Desc[]): Desc | undefined {
  const merged: Desc = {};
  for (const d of descs) {
    for (const key of Object.keys(d) as Array<keyof Desc>) {
      if (d[key] !== undefined && !setOnce(merged, key, d[key] as never)) return undefined;
    }
  }
  return merged;
}

function splitOn(tokens: string[], word: string): string[][] {
  const parts: string[][] = [[]];
  for (const t of tokens) {
    if (t === word) parts.push([]);
    else parts[parts.length - 1]!.push(t);
  }
  return parts.filter((p) => p.length > 0);
}

function combine(kind: 'and' | 'or', parts: Predicate[]): Predicate {
  return parts.length === 1 ? parts[0]! : { kind, parts };
}

// ---------------------------------------------------------------------------------------------
// Predicates

/** An existence/count statement over a noun phrase, with "and"/"or" between phrases. */
function existencePredicate(tokens: string[]): Predicate | undefined {
  const relation = relationPredicate(tokens);
  if (relation !== null) return relation;
  const orParts = splitOn(tokens, 'or');
  const ors: Predicate[] = [];
  for (const orPart of orParts) {
    const ands: Predicate[] = [];
    for (const part of splitOn(orPart, 'and')) {
      const np = parseNounPhrase(part, true);
      if (!np) return undefined;
      if (np.quantity) ands.push({ kind: 'count', desc: np.desc, op: np.quantity.op, n: np.quantity.n });
      else if (!isEmptyDesc(np.desc) || np.hasNoun) ands.push({ kind: 'exists', desc: np.desc });
      else return undefined;
    }
    if (ands.length === 0) return undefined;
    ors.push(combine('and', ands));
  }
  return ors.length === 0 ? undefined : combine('or', ors);
}

const RELATION_WORDS: Readonly<Record<string, Relation>> = { above: 'above', below: 'below', underneath: 'below', beneath: 'below' };

/** "X left of Y", "X above Y"; null when there is no relation word, undefined when it is malformed. */
function relationPredicate(tokens: string[]): Predicate | undefined | null {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    let relation: Relation | undefined;
    let width = 1;
    if ((t === 'left' || t === 'right') && tokens[i + 1] === 'of') {
      relation = t === 'left' ? 'leftOf' : 'rightOf';
      width = 2;
    } else if (RELATION_WORDS[t]) {
      relation = RELATION_WORDS[t];
    }
    if (relation === undefined) continue;
    const a = parseNounPhrase(tokens.slice(0, i), false);
    const b = parseNounPhrase(tokens.slice(i + width), false);
    if (!a || !b || (!a.hasNoun && isEmptyDesc(a.desc)) || (!b.hasNoun && isEmptyDesc(b.desc))) return undefined;
    return { kind: 'relation', a: a.desc, relation, b: b.desc };
  }
  return null;
}

/** "the <subject> <property>": the subject ends at its first noun. */
function subjectPredicate(tokens: string[], quantifier: 'the' | 'every'): Predicate | undefined {
  const relation = relationPredicate(tokens);
  if (relation !== null) return relation;
  const nounAt = tokens.findIndex((t) => shapeOf(t) !== undefined || (GENERIC_NOUNS.has(t) && t !== 'something' && t !== 'anything'));
  if (nounAt < 0) return undefined;
  // Everything after the subject's noun is property: "Is the circle on the left red?" asks for a
  // circle that is both on the left and red, which is what a reader means.
  const subject = parseNounPhrase(tokens.slice(0, nounAt + 1), false);
  if (!subject) return undefined;
  const propertyTokens = tokens.slice(nounAt + 1).filter((t) => t !== 'all' && t !== 'each');
  if (propertyTokens.every((t) => FILLER.has(t))) return undefined;
  const ors: Predicate[] = [];
  for (const orPart of splitOn(propertyTokens, 'or')) {
    const descs: Desc[] = [];
    for (const part of splitOn(orPart, 'and')) {
      const np = parseNounPhrase(part, false);
      if (!np || (isEmptyDesc(np.desc) && !np.hasNoun)) return undefined;
      descs.push(np.desc);
    }
    const property = mergeDescs(descs);
    if (!property) return undefined;
    ors.push({ kind: quantifier, subject: subject.desc, property });
  }
  return ors.length === 0 ? undefined : combine('or', ors);
}

function backgroundPredicate(tokens: string[]): Predicate | undefined {
  const colors = tokens.map(colorOf).filter((c): c is string => c !== undefined);
  const content = tokens.filter((t) => t !== 'background' && t !== 'or' && colorOf(t) === undefined && !FILLER.has(t) && t !== 'and');
  if (content.length === 0) {
    if (colors.length === 0) return undefined;
    return combine(
      'or',
      colors.map((color) => ({ kind: 'background', color })),
    );
  }
  // "<existence question> on a white background": split the background phrase off.
  const at = tokens.indexOf('background');
  const color = colorOf(tokens[at - 1] ?? '');
  if (color === undefined) return undefined;
  let start = at - 1;
  while (start > 0 && ['a', 'the', 'on', 'with', 'against', 'over'].includes(tokens[start - 1]!)) start--;
  const rest = [...tokens.slice(0, start), ...tokens.slice(at + 1)];
  const main = parseYesNoTokens(rest);
  if (!main) return undefined;
  return { kind: 'and', parts: [main, { kind: 'background', color }] };
}

const EXISTENCE_VERBS = new Set([
  'contain',
  'contains',
  'have',
  'has',
  'show',
  'shows',
  'include',
  'includes',
  'feature',
  'features',
  'depict',
  'depicts',
  'see',
]);
const VERB_SUBJECT_WORDS = new Set(['does', 'do', 'the', 'image', 'picture', 'scene', 'photo', 'it', 'you', 'can', 'your', 'i', 'we', 'this']);

function parseYesNoTokens(tokens: string[]): Predicate | undefined {
  if (tokens.length === 0) return undefined;
  if (tokens.includes('than') || tokens.includes('not') || tokens.includes('isnt') || tokens.includes('arent')) return undefined;
  const [first, second] = tokens;
  if ((first === 'is' || first === 'are') && second === 'there') return existencePredicate(tokens.slice(2));
  if ((first === 'is' || first === 'are') && (second === 'all' || second === 'every' || second === 'each')) {
    const rest = tokens.slice(2).filter((t) => t !== 'of');
    return subjectPredicate(rest[0] === 'the' ? rest.slice(1) : rest, 'every');
  }
  if ((first === 'is' || first === 'are') && (second === 'the' || second === 'this' || second === 'that')) {
    const rest = tokens.slice(2);
    if (rest.includes('all') || rest.includes('each')) return subjectPredicate(rest, 'every');
    return subjectPredicate(rest, 'the');
  }
  if (
    (first === 'is' || first === 'are') &&
    (second === 'it' || second === 'something' || second === 'anything' || second === 'any' || second === 'a' || second === 'an' || second === 'some')
  ) {
    return existencePredicate(tokens.slice(second === 'it' ? 2 : 1));
  }
  if (first === 'any') return existencePredicate(tokens.slice(1));
  const verbAt = tokens.findIndex((t) => EXISTENCE_VERBS.has(t));
  if (verbAt > 0 && tokens.slice(0, verbAt).every((t) => VERB_SUBJECT_WORDS.has(t))) return existencePredicate(tokens.slice(verbAt + 1));
  return undefined;
}

const WH_WORDS = new Set(['what', 'which', 'where', 'how']);

function parseOpenTokens(tokens: string[]): OpenQuery | undefined {
  const [first, second] = tokens;
  const subjectOf = (rest: string[]): Desc | undefined => {
    const np = parseNounPhrase(
      rest.filter((t) => t !== 'all' && t !== 'each' && t !== 'kind' && t !== 'type' && t !== 'the'),
      false,
    );
    return np?.desc;
  };
  if (first === 'how' && (second === 'many' || second === 'much')) {
    const subject = subjectOf(tokens.slice(2));
    return subject && { kind: 'howMany', subject };
  }
  if (first === 'how' && (second === 'big' || second === 'large' || second === 'small')) {
    const subject = subjectOf(tokens.slice(2));
    return subject && { kind: 'whatSize', subject };
  }
  if (first === 'where') {
    const subject = subjectOf(tokens.slice(1));
    return subject && { kind: 'where', subject };
  }
  if (first === 'what' || first === 'which') {
    const rest = tokens.slice(1);
    // "what is the color of the circle" reads as "color ... the circle"
    const attributeFirst = rest[0] === 'is' && rest[1] === 'the' && ['color', 'colors', 'shape', 'shapes', 'size', 'sizes'].includes(rest[2] ?? '');
    const normalized = attributeFirst ? rest.slice(2) : rest;
    const head = normalized[0];
    if (head === 'color' || head === 'colors') {
      const subject = subjectOf(normalized.slice(1));
      return subject && { kind: 'whatColor', subject };
    }
    if (
      head === 'shape' ||
      head === 'shapes' ||
      ((head === 'kind' || head === 'type') && normalized[1] === 'of' && ['shape', 'shapes', 'object', 'objects'].includes(normalized[2] ?? ''))
    ) {
      const subject = subjectOf(normalized.slice(head === 'shape' || head === 'shapes' ? 1 : 3));
      return subject && { kind: 'whatShape', subject };
    }
    if (head === 'size') {
      const subject = subjectOf(normalized.slice(1));
      return subject && { kind: 'whatSize', subject };
    }
    if (head === 'side' || head === 'part' || head === 'position') {
      const subject = subjectOf(normalized.slice(1).filter((t) => t !== 'on'));
      return subject && { kind: 'where', subject };
    }
    if (head === 'is' || head === 'are' || head === 'do' || head === 'can') {
      const subject = subjectOf(normalized.slice(1));
      return subject && (isEmptyDesc(subject) ? { kind: 'describe' } : { kind: 'whatIs', subject });
    }
    if (head === 'objects' || head === 'shapes' || head === 'object' || head === 'things') {
      const subject = subjectOf(normalized.slice(1));
      return subject && (isEmptyDesc(subject) ? { kind: 'describe' } : { kind: 'whatIs', subject });
    }
  }
  return undefined;
}

/**
 * Parses one question. "Describe the image" and wh-questions give open queries; yes/no questions
 * give predicates. Undefined when the question is outside the grammar.
 */
export function parseQuestion(text: string): ParsedQuestion | undefined {
  const cleaned = text.replace(/^\s*(question|q)\s*[:\-]\s*/i, '');
  const tokens = tokenize(cleaned).filter((t) => t !== 'please');
  if (tokens.length === 0) return undefined;
  if (
    tokens[0] === 'describe' ||
    (tokens[0] === 'can' && tokens[1] === 'you' && tokens[2] === 'describe') ||
    (tokens[0] === 'tell' && tokens.includes('about'))
  ) {
    return { type: 'open', query: { kind: 'describe' } };
  }
  if (tokens.includes('background')) {
    if (WH_WORDS.has(tokens[0]!)) return { type: 'open', query: { kind: 'backgroundColor' } };
    const predicate = backgroundPredicate(tokens);
    return predicate && { type: 'yesno', predicate };
  }
  if (WH_WORDS.has(tokens[0]!)) {
    const query = parseOpenTokens(tokens);
    return query && { type: 'open', query };
  }
  const predicate = parseYesNoTokens(tokens);
  return predicate && { type: 'yesno', predicate };
}

// ---------------------------------------------------------------------------------------------
// Canonical questions (what the simulated questioner asks)

const SHAPE_PLURALS: Readonly<Record<string, string>> = { circle: 'circles', square: 'squares', triangle: 'triangles', star: 'stars' };

function positionPhrase(desc: Desc): string {
  if (desc.row && desc.column) return cellPhrase(desc.row, desc.column);
  if (desc.column) return desc.column === 'center' ? 'in the center column' : `on the ${desc.column}`;
  if (desc.row) return desc.row === 'middle' ? 'in the middle row' : `at the ${desc.row}`;
  return '';
}

function nounPhrase(desc: Desc, plural: boolean): string {
  const noun = desc.shape ? (plural ? (SHAPE_PLURALS[desc.shape] ?? `${desc.shape}s`) : desc.shape) : plural ? 'objects' : 'object';
  return [desc.size, desc.color, noun, positionPhrase(desc)].filter(Boolean).join(' ');
}

const OP_WORDS: Readonly<Record<CountOp, string>> = { eq: 'exactly', ge: 'at least', le: 'at most', gt: 'more than', lt: 'fewer than' };

/** The canonical English of an exists / count / background predicate. */
export function formatQuestion(predicate: Predicate): string {
  switch (predicate.kind) {
    case 'exists':
      return `Is there ${withArticle(nounPhrase(predicate.desc, false))}?`;
    case 'count': {
      const plural = predicate.n !== 1;
      return `${plural ? 'Are' : 'Is'} there ${OP_WORDS[predicate.op]} ${numberWord(predicate.n)} ${nounPhrase(predicate.desc, plural)}?`;
    }
    case 'background':
      return `Is the background ${predicate.color}?`;
    default:
      throw new RangeError(`no canonical phrasing for a "${predicate.kind}" predicate`);
  }
}

function canonicalDesc(desc: Desc): Desc {
  const out: Desc = {};
  for (const key of ['color', 'shape', 'size', 'column', 'row'] as const) if (desc[key] !== undefined) (out as Record<string, string>)[key] = desc[key]!;
  return out;
}

/** A stable identity of a predicate, so that a question is never asked twice in another wording. */
export function predicateKey(predicate: Predicate): string {
  const normalize = (p: Predicate): unknown => {
    switch (p.kind) {
      case 'exists':
      case 'count':
        return { ...p, desc: canonicalDesc(p.desc) };
      case 'the':
      case 'every':
        return { ...p, subject: canonicalDesc(p.subject), property: canonicalDesc(p.property) };
      case 'relation':
        return { ...p, a: canonicalDesc(p.a), b: canonicalDesc(p.b) };
      case 'and':
      case 'or':
        return { kind: p.kind, parts: p.parts.map(normalize) };
      default:
        return p;
    }
  };
  return JSON.stringify(normalize(predicate));
}

/** Number of attributes a question mentions: simpler questions win ties. */
export function predicateComplexity(predicate: Predicate): number {
  switch (predicate.kind) {
    case 'exists':
      return Object.keys(canonicalDesc(predicate.desc)).length;
    case 'count':
      return 1 + Object.keys(canonicalDesc(predicate.desc)).length;
    case 'background':
      return 1;
    default:
      return 10;
  }
}

/**
 * Facts stated in a description such as the simulator's own ("Two objects on a white background:
 * a large red circle in the top left and a small blue star in the center."): each object phrase
 * that parses is an existing object, plus the background and the object count when stated.
 */
export function parseDescriptionFacts(text: string): Predicate[] {
  const facts: Predicate[] = [];
  const lower = text.toLowerCase();
  const background = /\b([a-z]+) background\b/.exec(lower);
  const backgroundColor = background ? colorOf(background[1]!) : undefined;
  if (backgroundColor) facts.push({ kind: 'background', color: backgroundColor });
  const count = /^\s*(\w+) objects?\b/.exec(lower);
  const n = count ? numberOf(count[1]) : undefined;
  if (n !== undefined) facts.push({ kind: 'count', desc: {}, op: 'eq', n });
  const body = lower.includes(':') ? lower.slice(lower.indexOf(':') + 1) : lower;
  for (const phrase of body.split(/,|\band\b|\.|;/)) {
    const np = parseNounPhrase(tokenize(phrase), false);
    if (np && np.hasNoun && !isEmptyDesc(np.desc)) facts.push({ kind: 'exists', desc: np.desc });
  }
  return facts;
}
