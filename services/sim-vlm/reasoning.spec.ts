import { createRng } from '../datasets/prng';
import type { Scene } from '../datasets/scene';
import { answerQuestion, describeTarget, UNREADABLE_DESCRIPTION } from './answerer';
import { bestQuestion, chooseQuestionerMove, remainingCandidates, yesNoValue } from './questioner';

const scene = (background: Scene['background'], objects: Array<Pick<Scene['objects'][number], 'color' | 'shape' | 'size' | 'row' | 'column'>>): Scene => ({
  version: 1,
  width: 144,
  height: 144,
  background,
  objects: objects.map((o) => ({ ...o, x: 0, y: 0 })),
});

const target = scene('white', [
  { color: 'red', shape: 'circle', size: 'large', row: 'top', column: 'left' },
  { color: 'blue', shape: 'square', size: 'small', row: 'middle', column: 'center' },
  { color: 'red', shape: 'star', size: 'small', row: 'bottom', column: 'right' },
]);

describe('answerQuestion', () => {
  const ask = (question: string, mode: 'yesno' | 'open' = 'yesno') => answerQuestion(target, question, { mode, errorRate: 0, rng: createRng(1) }).answer;

  it.each([
    ['Is there a red circle?', 'yes'],
    ['Is there a blue circle?', 'no'],
    ['Is the circle red?', 'yes'],
    ['Is the square red?', 'no'],
    ['Is the triangle red?', 'no'],
    ['Are there three objects?', 'yes'],
    ['Are there two objects?', 'no'],
    ['Are there at least two red objects?', 'yes'],
    ['Is there a blue square in the center?', 'yes'],
    ['Is there something on the left?', 'yes'],
    ['Is there an object in the middle left?', 'no'],
    ['Is the red circle to the left of the blue square?', 'yes'],
    ['Is the star above the circle?', 'no'],
    ['Are all the objects red?', 'no'],
    ['Are all the small objects at the bottom?', 'no'],
    ['Is the background white?', 'yes'],
    ['Is there a hexagon?', 'no'],
    ['Is the circle bigger than the square?', 'unsure'],
    ['What color is the star?', 'unsure'],
  ])('%s → %s', (question, expected) => {
    expect(ask(question)).toBe(expected);
  });

  it('answers open questions with a short phrase in open mode', () => {
    expect(ask('What color is the star?', 'open')).toBe('red');
    expect(ask('What colors are the small objects?', 'open')).toBe('blue and red');
    expect(ask('How many objects are there?', 'open')).toBe('3');
    expect(ask('Where is the square?', 'open')).toBe('in the center');
    expect(ask('What shape is at the bottom?', 'open')).toBe('star');
    expect(ask('What color is the triangle?', 'open')).toBe('There is no triangle.');
    expect(ask('Is there a red circle?', 'open')).toBe('yes');
    expect(ask('Describe the image.', 'open')).toMatch(/^Three objects on a white background: a large red circle in the top left/);
  });

  it('says unsure to everything about an image without scene metadata', () => {
    expect(answerQuestion(undefined, 'Is there a red circle?', { mode: 'yesno', errorRate: 0, rng: createRng(1) }).answer).toBe('unsure');
    expect(describeTarget(undefined).answer).toBe(UNREADABLE_DESCRIPTION);
  });

  it('flips yes/no answers at the error rate, reproducibly for a seed', () => {
    const flips = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 1000 }, () => answerQuestion(target, 'Is there a red circle?', { mode: 'yesno', errorRate: 0.3, rng }).answer);
    };
    const answers = flips(5);
    const noRate = answers.filter((a) => a === 'no').length / answers.length;
    expect(noRate).toBeGreaterThan(0.25);
    expect(noRate).toBeLessThan(0.35);
    expect(flips(5)).toEqual(answers);
    expect(answerQuestion(target, 'Is the circle bigger than the square?', { mode: 'yesno', errorRate: 1, rng: createRng(1) }).answer).toBe('unsure');
  });
});

describe('questioner logic', () => {
  const a = scene('white', [{ color: 'red', shape: 'circle', size: 'large', row: 'top', column: 'left' }]);
  const b = scene('white', [{ color: 'blue', shape: 'circle', size: 'large', row: 'top', column: 'left' }]);
  const c = scene('black', [{ color: 'red', shape: 'square', size: 'small', row: 'bottom', column: 'right' }]);
  const d = scene('black', [
    { color: 'blue', shape: 'square', size: 'small', row: 'bottom', column: 'right' },
    { color: 'green', shape: 'star', size: 'small', row: 'top', column: 'left' },
  ]);

  it('keeps the candidates consistent with the answers', () => {
    expect(remainingCandidates({ candidates: [a, b, c, d], history: [], mustGuess: false })).toEqual([0, 1, 2, 3]);
    const history = [{ question: 'Is there a red object?', answer: 'yes' }];
    expect(remainingCandidates({ candidates: [a, b, c, d], history, mustGuess: false })).toEqual([0, 2]);
    const more = [...history, { question: 'Is the background black?', answer: 'No.' }];
    expect(remainingCandidates({ candidates: [a, b, c, d], history: more, mustGuess: false })).toEqual([0]);
    const unsure = [...history, { question: 'Is the background black?', answer: 'unsure' }];
    expect(remainingCandidates({ candidates: [a, b, c, d], history: unsure, mustGuess: false })).toEqual([0, 2]);
  });

  it('falls back to the candidates that contradict the fewest answers when none fits all', () => {
    const history = [
      { question: 'Is there a red object?', answer: 'yes' },
      { question: 'Is there a green star?', answer: 'yes' },
    ];
    expect(remainingCandidates({ candidates: [a, b, c, d], history, mustGuess: false })).toEqual([0, 2, 3]);
  });

  it('asks the most balanced question, never one already asked', () => {
    const rng = createRng(1);
    const first = bestQuestion([a, b, c, d], new Set(), rng);
    expect(first).toBeDefined();
    const move = chooseQuestionerMove({ candidates: [a, b, c, d], history: [], mustGuess: false }, rng);
    expect(move.kind).toBe('question');
    if (move.kind !== 'question') return;
    const yes = [a, b, c, d].filter((s) => answerQuestion(s, move.text, { mode: 'yesno', errorRate: 0, rng }).answer === 'yes').length;
    expect(yes).toBe(2);
    const next = chooseQuestionerMove({ candidates: [a, b, c, d], history: [{ question: move.text, answer: 'unsure' }], mustGuess: false }, rng);
    expect(next.kind === 'question' && next.text).not.toBe(move.text);
  });

  it('guesses when one candidate is left, when it must, and when nothing tells the rest apart', () => {
    const rng = createRng(2);
    expect(
      chooseQuestionerMove({ candidates: [a, b, c, d], history: [{ question: 'Is there a green star?', answer: 'yes' }], mustGuess: false }, rng),
    ).toMatchObject({ kind: 'guess', index: 3 });
    const forced = chooseQuestionerMove({ candidates: [a, b, c, d], history: [{ question: 'Is there a red object?', answer: 'yes' }], mustGuess: true }, rng);
    expect(forced.kind).toBe('guess');
    expect([0, 2]).toContain(forced.kind === 'guess' ? forced.index : -1);
    expect(chooseQuestionerMove({ candidates: [a, a], history: [], mustGuess: false }, rng).kind).toBe('guess');
  });

  it('reasons only about images it can read and guesses among them', () => {
    const rng = createRng(3);
    const move = chooseQuestionerMove(
      { candidates: [undefined, a, undefined, c], history: [{ question: 'Is there a circle?', answer: 'yes' }], mustGuess: false },
      rng,
    );
    expect(move).toMatchObject({ kind: 'guess', index: 1 });
    const blind = chooseQuestionerMove({ candidates: [undefined, undefined, undefined], history: [], mustGuess: false }, rng);
    expect(blind.kind).toBe('guess');
  });

  it('uses the description of the target', () => {
    const rng = createRng(4);
    const descriptions = [describeTarget(c).answer];
    expect(chooseQuestionerMove({ candidates: [a, b, c, d], history: [], descriptions, mustGuess: false }, rng)).toMatchObject({ kind: 'guess', index: 2 });
  });

  it('reads answers in the shapes models give them', () => {
    expect(yesNoValue('yes')).toBe(true);
    expect(yesNoValue('Answer: No, it is not.')).toBe(false);
    expect(yesNoValue('{"answer": "yes"}')).toBe(true);
    expect(yesNoValue('unsure')).toBeUndefined();
    expect(yesNoValue('red')).toBeUndefined();
  });
});
