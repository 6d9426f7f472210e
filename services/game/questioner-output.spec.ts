import { MAX_QUESTION_CHARS, parseQuestionerOutput } from './questioner-output';

const question = (text: string) => ({ kind: 'question', text });
const guess = (index: number) => ({ kind: 'guess', index });

describe('parseQuestionerOutput', () => {
  describe('JSON', () => {
    it.each([
      ['{"question": "Is there a red circle?"}', question('Is there a red circle?')],
      ['{"guess": 3}', guess(2)],
      ['{"guess": "3"}', guess(2)],
      ['{"guess": "Image 3"}', guess(2)],
      ['{"guess": "image #4."}', guess(3)],
      ['{"guess": "third"}', guess(2)],
      ['{"guess": "the second image"}', guess(1)],
      ['{"Guess": 1}', guess(0)],
      ['{ "question" : "Is the shape  large?" }', question('Is the shape large?')],
      ['```json\n{"question": "Is there a blue square?"}\n```', question('Is there a blue square?')],
      ['```\n{"guess": 2}\n```', guess(1)],
      ['Sure! Here is my move:\n\n{"question": "Are there two objects?"}\n\nGood luck!', question('Are there two objects?')],
      ['Based on the answers, only one image fits. {"guess": 4}', guess(3)],
      ["{'question': 'Is it green?'}", question('Is it green?')],
      ['{question: "Is it small?"}', question('Is it small?')],
      ['{"question": "Is there a star?",}', question('Is there a star?')],
      ['{“guess”: 2}', guess(1)],
      ['{"question": null, "guess": 2}', guess(1)],
      ['{"question": "Is it red?", "guess": null}', question('Is it red?')],
      ['{"action": "guess", "image": 2}', guess(1)],
      ['{"action": "ask", "question": "Is there a triangle?"}', question('Is there a triangle?')],
      ['{"question": "Is the {red} shape a circle?"}', question('Is the {red} shape a circle?')],
      ['{"question": "Is the kid\'s ball red?", }', question("Is the kid's ball red?")],
      ['{"reasoning": {"left": 2}, "guess": 2}', guess(1)],
      ['First I thought {"question": "Is it red?"} but actually {"guess": 1}', guess(0)],
      ['<think>Image 2 and 3 both have circles. Let me ask {"guess": 9}</think>{"question": "Is the circle red?"}', question('Is the circle red?')],
    ])('%s', (raw, expected) => {
      expect(parseQuestionerOutput(raw, 4)).toEqual(expected);
    });

    it('treats an explicit null or "none" guess as a refusal to guess', () => {
      expect(parseQuestionerOutput('{"guess": null}', 4).kind).toBe('no_guess');
      expect(parseQuestionerOutput('{"guess": "none"}', 4).kind).toBe('no_guess');
      expect(parseQuestionerOutput('{"guess": "I don\'t know"}', 4).kind).toBe('no_guess');
    });

    it('rejects JSON with both a question and a guess', () => {
      expect(parseQuestionerOutput('{"question": "Is it red?", "guess": 2}', 4)).toEqual({
        kind: 'unparseable',
        reason: 'JSON holds both a question and a guess',
      });
    });

    it('rejects an empty JSON question and a non-numeric guess', () => {
      expect(parseQuestionerOutput('{"question": "  "}', 4).kind).toBe('unparseable');
      expect(parseQuestionerOutput('{"guess": "the red one"}', 4).kind).toBe('unparseable');
      expect(parseQuestionerOutput('{"guess": 2.5}', 4).kind).toBe('unparseable');
    });
  });

  describe('prose', () => {
    it.each([
      ['Guess: 3', guess(2)],
      ['guess:3', guess(2)],
      ['I guess image 3', guess(2)],
      ['I guess image 3.', guess(2)],
      ['My final guess is image #4', guess(3)],
      ["I'll guess it's the third image.", guess(2)],
      ['**Guess:** Image 2', guess(1)],
      ['Final guess = 1', guess(0)],
      ['The target is image 2.', guess(1)],
      ['Final answer: Image 4', guess(3)],
      ['It is picture #1', guess(0)],
      ['The answer is the second image.', guess(1)],
      ['Image 3', guess(2)],
      ['image three.', guess(2)],
      ['"Image 1"', guess(0)],
      ['4', guess(3)],
      ['#2', guess(1)],
      ['Question: Is there a red circle?', question('Is there a red circle?')],
      ['question - is the square blue?', question('is the square blue?')],
      ['**Question:** Is the triangle on the left?', question('Is the triangle on the left?')],
      ['Question 3: Are there more than two shapes?', question('Are there more than two shapes?')],
      ['Question: Is the object big', question('Is the object big')],
      ['Is there a red circle?', question('Is there a red circle?')],
      ['  Is there a red circle?  \n', question('Is there a red circle?')],
      ['Images 1 and 3 have circles. Is the circle red?', question('Is the circle red?')],
      ['I\'ll ask: "Does the image contain a star?"', question('Does the image contain a star?')],
      ['Let me narrow it down.\nDoes it show exactly one shape?\n', question('Does it show exactly one shape?')],
      ['- Is there a green triangle?', question('Is there a green triangle?')],
      ['I cannot guess yet. Is the background white?', question('Is the background white?')],
      ['I guess the one with the red circle... is it at the top?', question('is it at the top?')],
      ['I guess there are 3 circles in the target; is that right?', question('I guess there are 3 circles in the target; is that right?')],
    ])('%s', (raw, expected) => {
      expect(parseQuestionerOutput(raw, 4)).toEqual(expected);
    });

    it('strips reasoning blocks, including an unterminated one', () => {
      expect(parseQuestionerOutput('<think>maybe image 2?</think>\nGuess: 1', 4)).toEqual(guess(0));
      expect(parseQuestionerOutput('reasoning about image 4...</think> Is it blue?', 4)).toEqual(question('Is it blue?'));
      expect(parseQuestionerOutput('Is it blue? <think>the model ran out of tokens', 4)).toEqual(question('Is it blue?'));
    });
  });

  describe('unparseable', () => {
    it.each([
      [''],
      ['   \n  '],
      ['I am not sure what to do.'],
      ['The images show various shapes.'],
      ['<think>Is it image 2?</think>'],
      ['{"foo": "bar"}'],
      ['?'],
    ])('%j', (raw) => {
      expect(parseQuestionerOutput(raw, 4).kind).toBe('unparseable');
    });

    it('rejects guesses outside 1..N, naming the range', () => {
      expect(parseQuestionerOutput('{"guess": 5}', 4)).toEqual({ kind: 'unparseable', reason: 'guess 5 is not an image number from 1 to 4' });
      expect(parseQuestionerOutput('{"guess": 0}', 4).kind).toBe('unparseable');
      expect(parseQuestionerOutput('Guess: 7', 4).kind).toBe('unparseable');
      expect(parseQuestionerOutput('{"guess": -1}', 4).kind).toBe('unparseable');
      expect(parseQuestionerOutput('{"guess": 16}', 16)).toEqual(guess(15));
    });

    it('rejects an over-long question as prose', () => {
      const long = `${'Is it '.repeat(Math.ceil(MAX_QUESTION_CHARS / 6) + 1)}red?`;
      expect(parseQuestionerOutput(JSON.stringify({ question: long }), 4).kind).toBe('unparseable');
    });

    it('never throws on arbitrary input', () => {
      const samples = ['{', '}', '{{{"', '"}}}', '{"guess": {"x": 1}}', '\u0000\uffff', '{"question": ["a"]}', 'guess guess guess', '[1, 2]', 'null'];
      for (const sample of samples) expect(() => parseQuestionerOutput(sample, 4)).not.toThrow();
      expect(() => parseQuestionerOutput(undefined as unknown as string, 4)).not.toThrow();
    });
  });
});
