import type { CallUsage } from '../../schemas/generated/events';
import { parseAnswererOutput } from './answerer-output';
import { parseQuestionerOutput } from './questioner-output';
import { answererRequestKind, badImageEnding, decideAnswererStep, decideQuestionerStep, modelErrorEnding, timeoutEnding, type ModelCall } from './steps';
import { makeGame, TEST_NOW, withDialog } from './testing';
import { nextSpeaker, questionsLeft } from './transcript';

const call = (text: string): ModelCall => ({ text, latencyMs: 123.6, promptTokens: 900, completionTokens: 12, costUsd: 0.0004 });
const now = TEST_NOW;

describe('decideQuestionerStep', () => {
  it('appends a question turn with the call record and emits QuestionAsked', () => {
    const game = withDialog(makeGame(), [['Is it red?', 'yes']]);
    const raw = '{"question": "Is it big?"}';
    const step = decideQuestionerStep(game, parseQuestionerOutput(raw, 4), call(raw), now);
    expect(step.kind).toBe('question');
    if (step.kind !== 'question') return;
    expect(step.event.question).toBe('Is it big?');
    expect(step.event.game.transcript).toHaveLength(3);
    expect(step.event.game.transcript[2]).toEqual({
      index: 2,
      speaker: 'questioner',
      kind: 'question',
      text: 'Is it big?',
      rawOutput: raw,
      latencyMs: 124,
      promptTokens: 900,
      completionTokens: 12,
      costUsd: 0.0004,
      createdAtMs: now,
      usage: null,
    });
    expect(game.transcript).toHaveLength(2);
    expect(nextSpeaker(step.event.game)).toBe('answerer');
  });

  it('ends with a guess naming the image at the guessed display index, with the call cost', () => {
    const game = withDialog(makeGame({ targetIndex: 2 }), [['Is it red?', 'yes']]);
    const step = decideQuestionerStep(game, parseQuestionerOutput('Guess: 3', 4), call('Guess: 3'), now);
    expect(step).toEqual({
      kind: 'end',
      event: {
        game,
        ending: {
          kind: 'guess',
          endedBy: 'questioner',
          rawGuess: 'Guess: 3',
          guessedIndex: 2,
          guessedImageId: 'scene-0002',
          guessLatencyMs: 124,
          guessPromptTokens: 900,
          guessCompletionTokens: 12,
          guessCostUsd: 0.0004,
          errorMessage: null,
          endedAtMs: now,
          call: null,
        },
      },
    });
  });

  it('turns a question asked when a guess was demanded into turn_limit', () => {
    const game = withDialog(makeGame({ maxTurns: 1 }), [['Is it red?', 'yes']]);
    expect(questionsLeft(game)).toBe(0);
    const step = decideQuestionerStep(game, parseQuestionerOutput('Is it big?', 4), call('Is it big?'), now);
    expect(step.kind === 'end' && step.event.ending).toMatchObject({
      kind: 'turn_limit',
      rawGuess: 'Is it big?',
      errorMessage: 'asked a question after using all 1 questions instead of guessing',
    });
  });

  it('still accepts a guess at the limit', () => {
    const game = withDialog(makeGame({ maxTurns: 1 }), [['Is it red?', 'yes']]);
    const step = decideQuestionerStep(game, parseQuestionerOutput('{"guess": 1}', 4), call('{"guess": 1}'), now);
    expect(step.kind === 'end' && step.event.ending.kind).toBe('guess');
  });

  it('ends unparseable output as unparseable_output, and a refusal as no_guess', () => {
    const game = makeGame();
    const garbage = decideQuestionerStep(game, parseQuestionerOutput('lorem ipsum', 4), call('lorem ipsum'), now);
    expect(garbage.kind === 'end' && garbage.event.ending).toMatchObject({ kind: 'unparseable_output', endedBy: 'questioner', rawGuess: 'lorem ipsum' });
    expect(garbage.kind === 'end' && garbage.event.ending.errorMessage).toMatch(/^questioner output unparseable: no question or guess found/);
    const refusal = decideQuestionerStep(game, parseQuestionerOutput('{"guess": null}', 4), call('{"guess": null}'), now);
    expect(refusal.kind === 'end' && refusal.event.ending.kind).toBe('no_guess');
  });

  it('ends the game as timeout past the deadline, whatever the output', () => {
    const game = makeGame({ deadlineAtMs: now - 1 });
    const step = decideQuestionerStep(game, parseQuestionerOutput('{"guess": 1}', 4), call('{"guess": 1}'), now);
    expect(step.kind === 'end' && step.event.ending).toMatchObject({ kind: 'timeout', endedBy: 'questioner', guessedIndex: null, guessCostUsd: 0.0004 });
    const atDeadline = decideQuestionerStep(makeGame({ deadlineAtMs: now }), parseQuestionerOutput('{"guess": 1}', 4), call('{"guess": 1}'), now);
    expect(atDeadline.kind === 'end' && atDeadline.event.ending.kind).toBe('guess');
  });

  it('refuses to act out of turn', () => {
    const pending = withDialog(makeGame(), [['Is it red?']]);
    expect(() => decideQuestionerStep(pending, { kind: 'guess', index: 0 }, call(''), now)).toThrow(/not the questioner's turn/);
    expect(() => decideQuestionerStep(makeGame({ describeFirst: true }), { kind: 'guess', index: 0 }, call(''), now)).toThrow(/not the questioner's turn/);
  });

  it('guards against an index the parser should have rejected', () => {
    const step = decideQuestionerStep(makeGame(), { kind: 'guess', index: 9 }, call('{"guess": 10}'), now);
    expect(step.kind === 'end' && step.event.ending.kind).toBe('unparseable_output');
  });
});

describe('decideAnswererStep', () => {
  it('appends the normalised answer and emits AnswerGiven', () => {
    const game = withDialog(makeGame(), [['Is it red?']]);
    const step = decideAnswererStep(game, parseAnswererOutput('Yes, it is.', 'yesno'), call('Yes, it is.'), now);
    expect(step.kind).toBe('answer');
    if (step.kind !== 'answer') return;
    expect(step.event.answer).toBe('yes');
    expect(step.event.game.transcript.at(-1)).toMatchObject({ index: 1, speaker: 'answerer', kind: 'answer', text: 'yes', rawOutput: 'Yes, it is.' });
    expect(nextSpeaker(step.event.game)).toBe('questioner');
  });

  it('records the opening of a describeFirst game as a description', () => {
    const game = makeGame({ describeFirst: true });
    expect(answererRequestKind(game)).toBe('description');
    const step = decideAnswererStep(game, parseAnswererOutput('A red star.', 'yesno', 'description'), call('A red star.'), now);
    expect(step.kind === 'answer' && step.event.game.transcript[0]).toMatchObject({ index: 0, speaker: 'answerer', kind: 'description', text: 'A red star.' });
  });

  it('keeps the cost of a late or unparseable answerer call on the ending (issue 6 defect 10)', () => {
    const usage: CallUsage = {
      role: 'answerer',
      model: { endpoint: 'http://127.0.0.1:1/v1', model: 'vlm-a', promptVersion: 'v1', temperature: 0, topP: null, maxTokens: 64 },
      rawOutput: 'lorem ipsum',
      latencyMs: 80,
      promptTokens: 700,
      completionTokens: 30,
      cachedTokens: 512,
      costUsd: 0.002,
      modelCalls: 2,
      retries: { rate_limited: 1 },
      pricePromptPerMTok: 2,
      priceCompletionPerMTok: 20,
    };
    const game = withDialog(makeGame(), [['Is it red?']]);
    const garbage = decideAnswererStep(game, parseAnswererOutput('lorem ipsum', 'yesno'), { ...call('lorem ipsum'), usage }, now);
    expect(garbage.kind === 'end' && garbage.event.ending.call).toEqual(usage);
    const late = decideAnswererStep(game, parseAnswererOutput('yes', 'yesno'), { ...call('yes'), usage }, game.header.deadlineAtMs + 1);
    expect(late.kind === 'end' && late.event.ending).toMatchObject({ kind: 'timeout', call: { costUsd: 0.002, promptTokens: 700 } });
    // The answered turn records the usage (spec really sent, cached tokens, retries) too.
    const answered = decideAnswererStep(game, parseAnswererOutput('yes', 'yesno'), { ...call('yes'), usage }, now);
    expect(answered.kind === 'answer' && answered.event.game.transcript.at(-1)!.usage).toEqual(usage);
  });

  it('ends unparseable output with an excerpt of the raw output', () => {
    const game = withDialog(makeGame(), [['Is it red?']]);
    const step = decideAnswererStep(game, parseAnswererOutput('The shape is a circle.', 'yesno'), call('The shape is a circle.'), now);
    expect(step.kind === 'end' && step.event.ending).toMatchObject({ kind: 'unparseable_output', endedBy: 'answerer', rawGuess: null });
    expect(step.kind === 'end' && step.event.ending.errorMessage).toContain('raw output: "The shape is a circle."');
  });

  it('ends the game as timeout past the deadline', () => {
    const game = withDialog(makeGame({ deadlineAtMs: now - 5 }), [['Is it red?']]);
    const step = decideAnswererStep(game, parseAnswererOutput('yes', 'yesno'), call('yes'), now);
    expect(step.kind === 'end' && step.event.ending).toMatchObject({ kind: 'timeout', endedBy: 'answerer' });
    expect(step.kind === 'end' && step.event.ending.errorMessage).toContain('passed 5 ms ago');
  });

  it('refuses to act when no question is pending', () => {
    expect(() => decideAnswererStep(makeGame(), { kind: 'answer', text: 'yes' }, call('yes'), now)).toThrow(/not the answerer's turn/);
  });
});

describe('failure endings', () => {
  it('name what went wrong', () => {
    const game = makeGame();
    const image = game.setup.candidates[1]!;
    expect(badImageEnding('answerer', image, 'sha256 mismatch', now)).toMatchObject({
      kind: 'bad_image',
      endedBy: 'answerer',
      errorMessage: 'image scene-0001 (file:///data/scenes/scene-0001.png): sha256 mismatch',
      guessedIndex: null,
      endedAtMs: now,
    });
    expect(modelErrorEnding('questioner', 'http://127.0.0.1:1/v1 model sim: connection refused', now)).toMatchObject({
      kind: 'model_error',
      errorMessage: 'http://127.0.0.1:1/v1 model sim: connection refused',
    });
    expect(timeoutEnding(makeGame({ deadlineAtMs: now - 1000 }), 'questioner', now).errorMessage).toMatch(/passed 1000 ms ago \(seen by the questioner\)/);
  });
});
