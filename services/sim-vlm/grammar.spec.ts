import { generateDistinctScenes } from '../datasets/scene-generator';
import { formatQuestion, parseDescriptionFacts, parseQuestion, predicateKey, type Predicate } from './grammar';
import { candidatePredicates } from './questioner';

describe('canonical questions', () => {
  it('parse back to the predicate they were made from, for every predicate the questioner can ask', () => {
    const predicates = candidatePredicates(generateDistinctScenes(200, 1));
    expect(predicates.length).toBeGreaterThan(500);
    for (const predicate of predicates) {
      const text = formatQuestion(predicate);
      const parsed = parseQuestion(text);
      expect({ text, parsed: parsed?.type === 'yesno' ? predicateKey(parsed.predicate) : parsed }).toEqual({ text, parsed: predicateKey(predicate) });
    }
  });

  it('read naturally', () => {
    expect(formatQuestion({ kind: 'exists', desc: { color: 'orange', shape: 'star' } })).toBe('Is there an orange star?');
    expect(formatQuestion({ kind: 'exists', desc: { size: 'large', column: 'left' } })).toBe('Is there a large object on the left?');
    expect(formatQuestion({ kind: 'exists', desc: { shape: 'circle', row: 'top', column: 'center' } })).toBe('Is there a circle in the top center?');
    expect(formatQuestion({ kind: 'exists', desc: { color: 'red', row: 'middle', column: 'center' } })).toBe('Is there a red object in the center?');
    expect(formatQuestion({ kind: 'count', desc: {}, op: 'eq', n: 1 })).toBe('Is there exactly one object?');
    expect(formatQuestion({ kind: 'count', desc: { shape: 'triangle' }, op: 'ge', n: 2 })).toBe('Are there at least two triangles?');
    expect(formatQuestion({ kind: 'background', color: 'beige' })).toBe('Is the background beige?');
  });
});

describe('free-form questions', () => {
  const yesno = (text: string): Predicate | undefined => {
    const parsed = parseQuestion(text);
    return parsed?.type === 'yesno' ? parsed.predicate : undefined;
  };

  it.each<[string, Predicate]>([
    ['Is there a red circle?', { kind: 'exists', desc: { color: 'red', shape: 'circle' } }],
    ['Are there any stars in the image?', { kind: 'exists', desc: { shape: 'star' } }],
    ['Is there something on the left?', { kind: 'exists', desc: { column: 'left' } }],
    ['Is anything red?', { kind: 'exists', desc: { color: 'red' } }],
    ['Does the image contain a blue square on the left side?', { kind: 'exists', desc: { color: 'blue', shape: 'square', column: 'left' } }],
    ['Do you see a big triangle in the upper-right corner?', { kind: 'exists', desc: { size: 'large', shape: 'triangle', row: 'top', column: 'right' } }],
    ['Can you see any grey shapes?', { kind: 'exists', desc: { color: 'gray' } }],
    ['Is there a hexagon?', { kind: 'exists', desc: { shape: 'hexagon' } }],
    ['Is it a violet star?', { kind: 'exists', desc: { color: 'purple', shape: 'star' } }],
    ['Are there two objects?', { kind: 'count', desc: {}, op: 'eq', n: 2 }],
    ['Are there 3 or more shapes?', { kind: 'count', desc: {}, op: 'ge', n: 3 }],
    ['Is there more than one circle?', { kind: 'count', desc: { shape: 'circle' }, op: 'gt', n: 1 }],
    ['Is there only one object?', { kind: 'count', desc: {}, op: 'eq', n: 1 }],
    ['Are there no triangles?', { kind: 'count', desc: { shape: 'triangle' }, op: 'eq', n: 0 }],
    ['Are there multiple red objects?', { kind: 'count', desc: { color: 'red' }, op: 'ge', n: 2 }],
    ['Is the circle red?', { kind: 'the', subject: { shape: 'circle' }, property: { color: 'red' } }],
    ['Is the red shape a star?', { kind: 'the', subject: { color: 'red' }, property: { shape: 'star' } }],
    ['Is the triangle small and yellow?', { kind: 'the', subject: { shape: 'triangle' }, property: { size: 'small', color: 'yellow' } }],
    ['Is the object on the left blue?', { kind: 'the', subject: {}, property: { column: 'left', color: 'blue' } }],
    ['Are all the objects red?', { kind: 'every', subject: {}, property: { color: 'red' } }],
    ['Are the circles all large?', { kind: 'every', subject: { shape: 'circle' }, property: { size: 'large' } }],
    [
      'Is the red circle to the left of the blue square?',
      { kind: 'relation', a: { color: 'red', shape: 'circle' }, relation: 'leftOf', b: { color: 'blue', shape: 'square' } },
    ],
    ['Is there a star above a circle?', { kind: 'relation', a: { shape: 'star' }, relation: 'above', b: { shape: 'circle' } }],
    ['Is the square lower than the star?', { kind: 'relation', a: { shape: 'square' }, relation: 'below', b: { shape: 'star' } }],
    ['Is the background white?', { kind: 'background', color: 'white' }],
    ['Does the picture have a black background?', { kind: 'background', color: 'black' }],
    [
      'Is there a red circle and a blue square?',
      {
        kind: 'and',
        parts: [
          { kind: 'exists', desc: { color: 'red', shape: 'circle' } },
          { kind: 'exists', desc: { color: 'blue', shape: 'square' } },
        ],
      },
    ],
    [
      'Is there a green star or a pink circle?',
      {
        kind: 'or',
        parts: [
          { kind: 'exists', desc: { color: 'green', shape: 'star' } },
          { kind: 'exists', desc: { color: 'pink', shape: 'circle' } },
        ],
      },
    ],
    [
      'Is there a small circle on a gray background?',
      {
        kind: 'and',
        parts: [
          { kind: 'exists', desc: { size: 'small', shape: 'circle' } },
          { kind: 'background', color: 'gray' },
        ],
      },
    ],
    ['Question: Is there an object in the middle left?', { kind: 'exists', desc: { row: 'middle', column: 'left' } }],
  ])('%s', (text, expected) => {
    expect(yesno(text)).toEqual(expected);
  });

  it.each([
    ['What color is the triangle?', { kind: 'whatColor', subject: { shape: 'triangle' } }],
    ['What is the colour of the large object?', { kind: 'whatColor', subject: { size: 'large' } }],
    ['What shape is on the right?', { kind: 'whatShape', subject: { column: 'right' } }],
    ['What kind of shape is the red object?', { kind: 'whatShape', subject: { color: 'red' } }],
    ['Where is the star?', { kind: 'where', subject: { shape: 'star' } }],
    ['How many objects are there?', { kind: 'howMany', subject: {} }],
    ['How many blue shapes do you see?', { kind: 'howMany', subject: { color: 'blue' } }],
    ['How big is the circle?', { kind: 'whatSize', subject: { shape: 'circle' } }],
    ['What is at the top?', { kind: 'whatIs', subject: { row: 'top' } }],
    ['What do you see?', { kind: 'describe' }],
    ['Describe the image.', { kind: 'describe' }],
    ['What color is the background?', { kind: 'backgroundColor' }],
  ])('%s', (text, expected) => {
    expect(parseQuestion(text)).toEqual({ type: 'open', query: expected });
  });

  it.each([
    'Is the circle bigger than the square?',
    'Is the image mostly dark?',
    'Is there a red and green striped flag?',
    'Is the star not red?',
    'Are all objects the same color?',
    'Is it image 3?',
    'Is the star next to the circle?',
    'Hello',
    '',
  ])('leaves "%s" unparsed (the answerer says unsure)', (text) => {
    expect(parseQuestion(text)).toBeUndefined();
  });
});

describe('parseDescriptionFacts', () => {
  it('reads objects, count and background from a description', () => {
    const facts = parseDescriptionFacts('Two objects on a white background: a large red circle in the top left and a small blue star in the center.');
    expect(facts).toEqual([
      { kind: 'background', color: 'white' },
      { kind: 'count', desc: {}, op: 'eq', n: 2 },
      { kind: 'exists', desc: { size: 'large', color: 'red', shape: 'circle', row: 'top', column: 'left' } },
      { kind: 'exists', desc: { size: 'small', color: 'blue', shape: 'star', row: 'middle', column: 'center' } },
    ]);
    expect(parseDescriptionFacts('The image shows a green triangle.')).toEqual([{ kind: 'exists', desc: { color: 'green', shape: 'triangle' } }]);
  });
});
