import { MAX_DESCRIPTION_CHARS, MAX_OPEN_ANSWER_CHARS, normaliseYesNo, parseAnswererOutput } from './answerer-output';

const answer = (text: string) => ({ kind: 'answer', text });

describe('parseAnswererOutput, yesno', () => {
  it.each([
    ['{"answer": "yes"}', 'yes'],
    ['{"answer": "no"}', 'no'],
    ['{"answer": "unsure"}', 'unsure'],
    ['{"answer": "Yes."}', 'yes'],
    ['{"answer": "No, it is not."}', 'no'],
    ['{"Answer": "YES"}', 'yes'],
    ['{"answer": true}', 'yes'],
    ['{"answer": false}', 'no'],
    ["{'answer': 'no'}", 'no'],
    ['```json\n{"answer": "yes"}\n```', 'yes'],
    ['Looking at the image, I see a red circle. {"answer": "yes"}', 'yes'],
    ['{"answer": "not sure"}', 'unsure'],
    ['Yes', 'yes'],
    ['Yes.', 'yes'],
    ['yes', 'yes'],
    ['YES!', 'yes'],
    ['**Yes**', 'yes'],
    ['"Yes"', 'yes'],
    ['Yes, there is a red circle on the left.', 'yes'],
    ['Yeah', 'yes'],
    ['Yep, definitely.', 'yes'],
    ['Correct.', 'yes'],
    ['True', 'yes'],
    ['Answer: yes', 'yes'],
    ['A: No', 'no'],
    ['No', 'no'],
    ['No.', 'no'],
    ['no, it is not', 'no'],
    ['Nope.', 'no'],
    ['Not at all.', 'no'],
    ['False', 'no'],
    ['None of the shapes are red.', 'no'],
    ['Unsure', 'unsure'],
    ["I'm not sure.", 'unsure'],
    ['I’m not sure', 'unsure'],
    ['Not sure — the image is ambiguous.', 'unsure'],
    ["I can't tell from the image.", 'unsure'],
    ['I cannot determine that.', 'unsure'],
    ["I don't know", 'unsure'],
    ['Maybe', 'unsure'],
    ['It is unclear.', 'unsure'],
    ['Hard to say.', 'unsure'],
    ['The answer is no.', 'no'],
    ['The shape is a circle, so the answer is yes.', 'yes'],
    ['There is a red circle, so yes.', 'yes'],
    ['<think>The question asks about red. I see red.</think>\nYes', 'yes'],
  ])('%s → %s', (raw, expected) => {
    expect(parseAnswererOutput(raw, 'yesno')).toEqual(answer(expected));
  });

  it.each([
    [''],
    ['   '],
    ['There is a red circle.'],
    ['The image shows a square'],
    ['It could be yes or no.'],
    ['{"answer": "blue"}'],
    ['{"answer": 3}'],
    ['<think>yes</think>'],
  ])('%j is unparseable', (raw) => {
    expect(parseAnswererOutput(raw, 'yesno').kind).toBe('unparseable');
  });

  it('says why an answer was rejected', () => {
    expect(parseAnswererOutput('', 'yesno')).toEqual({ kind: 'unparseable', reason: 'empty output' });
    expect(parseAnswererOutput('{"answer": "blue"}', 'yesno')).toEqual({ kind: 'unparseable', reason: 'JSON answer "blue" is not yes, no or unsure' });
  });
});

describe('normaliseYesNo', () => {
  it('does not read "not" inside a sentence as no', () => {
    expect(normaliseYesNo('The circle is not blue, it is red')).toBeUndefined();
  });
  it('prefers the leading word over later words', () => {
    expect(normaliseYesNo('Yes, there is no blue square but a red one')).toBe('yes');
    expect(normaliseYesNo('No — yes would be wrong')).toBe('no');
  });
});

describe('parseAnswererOutput, open', () => {
  it.each([
    ['A red circle.', 'A red circle.'],
    ['  two   shapes\n', 'two shapes'],
    ['Answer: three squares', 'three squares'],
    ['"It is blue."', 'It is blue.'],
    ['{"answer": "in the top left corner"}', 'in the top left corner'],
    ['**Blue**', 'Blue'],
    ['<think>hmm</think>Large', 'Large'],
  ])('%j → %j', (raw, expected) => {
    expect(parseAnswererOutput(raw, 'open')).toEqual(answer(expected));
  });

  it('caps long answers at a word boundary', () => {
    const parsed = parseAnswererOutput('word '.repeat(200), 'open');
    expect(parsed.kind).toBe('answer');
    if (parsed.kind !== 'answer') return;
    expect(parsed.text.length).toBeLessThanOrEqual(MAX_OPEN_ANSWER_CHARS);
    expect(parsed.text.endsWith('word')).toBe(true);
  });

  it('rejects empty output', () => {
    expect(parseAnswererOutput('', 'open').kind).toBe('unparseable');
    expect(parseAnswererOutput('Answer:  ', 'open').kind).toBe('unparseable');
    expect(parseAnswererOutput('{"answer": ""}', 'open').kind).toBe('unparseable');
  });
});

describe('parseAnswererOutput, description', () => {
  it('takes the text, or the description key of a JSON object', () => {
    expect(parseAnswererOutput('A small red circle at the top and a large blue square.', 'yesno', 'description')).toEqual(
      answer('A small red circle at the top and a large blue square.'),
    );
    expect(parseAnswererOutput('{"description": "Two green triangles."}', 'yesno', 'description')).toEqual(answer('Two green triangles.'));
    expect(parseAnswererOutput('Description: One star.', 'open', 'description')).toEqual(answer('One star.'));
  });

  it('caps descriptions at MAX_DESCRIPTION_CHARS', () => {
    const parsed = parseAnswererOutput('circle '.repeat(500), 'yesno', 'description');
    expect(parsed.kind === 'answer' && parsed.text.length <= MAX_DESCRIPTION_CHARS).toBe(true);
  });

  it('rejects an empty description', () => {
    expect(parseAnswererOutput(' ', 'yesno', 'description').kind).toBe('unparseable');
  });
});
