import { parseAnswererOutput } from './answerer-output';
import { extractJsonObjects, jsonNestingDepth, MAX_JSON_DEPTH } from './model-output';
import { parseQuestionerOutput } from './questioner-output';

describe('JSON bombs from a hostile model (found by test/fuzz/hostile-inputs)', () => {
  const bomb = '{"question":' + '['.repeat(100_000) + ']'.repeat(100_000) + ',"guess":' + '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000) + '}';

  it('measures nesting outside strings and stops early', () => {
    expect(jsonNestingDepth('{"a":[1,{"b":"[[[["}]}')).toBe(3);
    expect(jsonNestingDepth(bomb)).toBe(MAX_JSON_DEPTH + 1);
  });

  it('treats a JSON bomb as no JSON at all, so nothing downstream recurses through it', () => {
    expect(extractJsonObjects(bomb)).toEqual([]);
    expect(extractJsonObjects('{"question": "Is it red?"}')).toEqual([{ question: 'Is it red?' }]);
  });

  it('parses bomb output without throwing', () => {
    expect(() => parseQuestionerOutput(bomb, 4)).not.toThrow(RangeError);
    expect(() => parseAnswererOutput(bomb, 'yesno')).not.toThrow(RangeError);
  });
});
