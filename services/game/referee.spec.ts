import type { GameEnding, GameState, GameEnded } from '../../schemas/generated/events';
import { findRuleViolations, judge, REFEREE_VERSION } from './referee';
import { badImageEnding, badInputEnding, failureEnding, modelErrorEnding } from './steps';
import { makeGame, TEST_NOW, withDialog } from './testing';

const now = TEST_NOW;

function guessEnding(game: GameState, index: number, overrides: Partial<GameEnding> = {}): GameEnding {
  return {
    ...failureEnding('no_guess', 'questioner', '', now),
    kind: 'guess',
    errorMessage: null,
    rawGuess: `{"guess": ${index + 1}}`,
    guessedIndex: index,
    guessedImageId: game.setup.candidates[index]?.id ?? null,
    ...overrides,
  };
}

const played = (targetIndex = 1): GameState =>
  withDialog(makeGame({ targetIndex }), [
    ['Is it red?', 'yes'],
    ['Is it big?', 'no'],
  ]);

describe('judge', () => {
  it('succeeds when the guess is the target', () => {
    const game = played(1);
    expect(judge({ game, ending: guessEnding(game, 1) }, { now })).toEqual({
      verdict: 'success',
      failureReason: null,
      detail: 'guessed image 2 (scene-0001), the target',
      refereeVersion: REFEREE_VERSION,
      judgedAtMs: now,
    });
  });

  it('fails a wrong guess, naming both images', () => {
    const game = played(1);
    const judgement = judge({ game, ending: guessEnding(game, 3) }, { now, refereeVersion: 'referee-test' });
    expect(judgement).toMatchObject({ verdict: 'failure', failureReason: 'wrong_guess', refereeVersion: 'referee-test' });
    expect(judgement.detail).toBe('guessed image 4 (scene-0003); the target was image 2 (scene-0001)');
  });

  it.each([
    ['no_guess', 'no_guess'],
    ['turn_limit', 'turn_limit'],
    ['unparseable_output', 'unparseable_output'],
    ['model_error', 'model_error'],
    ['timeout', 'timeout'],
    ['rule_violation', 'rule_violation'],
  ] as const)('maps ending %s to failure %s', (kind, reason) => {
    const game = played();
    const judgement = judge({ game, ending: failureEnding(kind, 'answerer', `what happened: ${kind}`, now) }, { now });
    expect(judgement).toMatchObject({ verdict: 'failure', failureReason: reason, detail: `answerer: what happened: ${kind}` });
  });

  it('judges bad_image as bad_input (not model_error), naming the image', () => {
    const game = played();
    const ending = badImageEnding('answerer', game.setup.candidates[1]!, 'file not found', now);
    const judgement = judge({ game, ending }, { now });
    expect(judgement.failureReason).toBe('bad_input');
    expect(judgement.detail).toBe('answerer: bad image: image scene-0001 (file:///data/scenes/scene-0001.png): file not found');
    expect(ending.kind).toBe('bad_image');
  });

  it('judges a request that cannot be built as bad_input', () => {
    const game = played();
    const judgement = judge({ game, ending: badInputEnding('questioner', 'cannot build the questioner request: unknown prompt version v9', now) }, { now });
    expect(judgement.failureReason).toBe('bad_input');
    expect(judgement.detail).toContain('unknown prompt version v9');
  });

  it('lets a protocol breach override any ending', () => {
    const game = played(1);
    const broken: GameState = { ...game, transcript: game.transcript.slice(1) };
    expect(judge({ game: broken, ending: guessEnding(broken, 1) }, { now }).failureReason).toBe('rule_violation');
    expect(judge({ game: broken, ending: modelErrorEnding('questioner', 'boom', now) }, { now }).failureReason).toBe('rule_violation');
  });
});

describe('findRuleViolations', () => {
  const check = (event: GameEnded): string[] => findRuleViolations(event.game, event.ending);

  it('finds nothing in a well-formed game', () => {
    const game = played(0);
    expect(check({ game, ending: guessEnding(game, 0) })).toEqual([]);
    const described = withDialog(makeGame({ describeFirst: true }), [['Is it red?', 'no']], 'A blue square.');
    expect(check({ game: described, ending: guessEnding(described, 2) })).toEqual([]);
    const noQuestions = makeGame();
    expect(check({ game: noQuestions, ending: guessEnding(noQuestions, 2) })).toEqual([]);
  });

  it('flags more questions than maxTurns', () => {
    const game = withDialog(makeGame({ maxTurns: 1 }), [
      ['Is it red?', 'yes'],
      ['Is it big?', 'no'],
    ]);
    expect(check({ game, ending: guessEnding(game, 0) })).toEqual(['2 questions asked, maxTurns is 1']);
  });

  it('flags turns out of order, misnumbered, or by the wrong speaker', () => {
    const game = played();
    const twoAnswers: GameState = { ...game, transcript: [game.transcript[0]!, game.transcript[1]!, { ...game.transcript[1]!, index: 2 }] };
    expect(check({ game: twoAnswers, ending: guessEnding(game, 0) })).toContain('turn 2 is an answer by the answerer, expected a question by the questioner');
    const misnumbered: GameState = { ...game, transcript: game.transcript.map((t) => ({ ...t, index: t.index + 1 })) };
    expect(check({ game: misnumbered, ending: guessEnding(game, 0) })).toContain('turn 0 is numbered 1');
    const described: GameState = withDialog(makeGame({ describeFirst: false }), [], 'A red star.');
    expect(check({ game: described, ending: failureEnding('timeout', 'answerer', 'late', now) })).toEqual([
      'turn 0 is a description by the answerer, expected a question by the questioner',
    ]);
    const undescribed = withDialog(makeGame({ describeFirst: true }), [['Is it red?', 'yes']]);
    expect(check({ game: undescribed, ending: guessEnding(undescribed, 0) })[0]).toBe(
      'turn 0 is a question by the questioner, expected a description by the answerer',
    );
  });

  it('flags inconsistent or impossible guesses', () => {
    const game = played();
    expect(check({ game, ending: guessEnding(game, 0, { guessedImageId: 'scene-0003' }) })).toEqual([
      'guessedImageId scene-0003 is not the image at index 0 (scene-0000)',
    ]);
    expect(check({ game, ending: guessEnding(game, 0, { guessedIndex: 4 }) })).toEqual(['guessedIndex 4 outside the 4 candidates']);
    expect(check({ game, ending: guessEnding(game, 0, { guessedIndex: null }) })).toEqual(['guessedIndex null outside the 4 candidates']);
    expect(check({ game, ending: guessEnding(game, 0, { endedBy: 'answerer' }) })).toEqual(['a guess ended by the answerer']);
    const pending = withDialog(makeGame(), [['Is it red?']]);
    expect(check({ game: pending, ending: guessEnding(pending, 0) })).toEqual(['guessed while its last question was unanswered']);
    const opening = makeGame({ describeFirst: true });
    expect(check({ game: opening, ending: guessEnding(opening, 0) })).toEqual(["guessed before the answerer's opening description"]);
  });

  it('flags a broken setup', () => {
    const one = makeGame({ numCandidates: 1 });
    expect(check({ game: one, ending: failureEnding('model_error', 'questioner', 'x', now) })).toEqual(['1 candidates, allowed 2 to 16']);
    const dupes = makeGame({ candidateIds: ['a', 'b', 'a'] });
    expect(check({ game: dupes, ending: failureEnding('model_error', 'questioner', 'x', now) })).toEqual(['candidate ids are not unique']);
    const badTarget = makeGame({ targetIndex: 4 });
    expect(check({ game: badTarget, ending: failureEnding('model_error', 'questioner', 'x', now) })).toEqual(['targetIndex 4 outside the 4 candidates']);
  });
});
