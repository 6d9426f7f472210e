import type { FailureReason, GameEnding, GameState, GameEnded, Judgement } from '../../schemas/generated/events';

/** Version of the rules below; recorded on every judgement. Bump when a verdict could change. */
export const REFEREE_VERSION = 'referee-1';

export const MIN_CANDIDATES = 2;
export const MAX_CANDIDATES = 16;

export interface JudgeOptions {
  now: number;
  refereeVersion?: string;
}

/**
 * The verdict on a finished game. Protocol checks come first: a game whose setup, transcript or
 * guess breaks the rules is a rule_violation whatever its ending said, since its other data cannot
 * be trusted. Otherwise success iff the questioner guessed the target; every other ending maps to
 * its failure reason, bad_image to model_error with the image named in the detail (the ending keeps
 * kind=bad_image for analytics).
 */
export function judge(guessMade: GameEnded, options: JudgeOptions): Judgement {
  const { game, ending } = guessMade;
  const verdict = (failureReason: FailureReason | null, detail: string): Judgement => ({
    verdict: failureReason === null ? 'success' : 'failure',
    failureReason,
    detail,
    refereeVersion: options.refereeVersion ?? REFEREE_VERSION,
    judgedAtMs: options.now,
  });

  const violations = findRuleViolations(game, ending);
  if (violations.length > 0) return verdict('rule_violation', violations.join('; '));

  const message = ending.errorMessage ?? '';
  switch (ending.kind) {
    case 'guess': {
      const { candidates, targetIndex } = game.setup;
      const guessedIndex = ending.guessedIndex as number;
      const target = candidates[targetIndex]!;
      const guessed = `image ${guessedIndex + 1} (${ending.guessedImageId})`;
      return guessedIndex === targetIndex
        ? verdict(null, `guessed ${guessed}, the target`)
        : verdict('wrong_guess', `guessed ${guessed}; the target was image ${targetIndex + 1} (${target.id})`);
    }
    case 'bad_image':
      // A bad image is the game's input, not the model's fault (issue 6 defect 9): its own reason.
      return verdict('bad_input', withEndedBy(ending, `bad image: ${message}`));
    case 'bad_input':
      return verdict('bad_input', withEndedBy(ending, `bad input: ${message}`));
    case 'no_guess':
    case 'turn_limit':
    case 'unparseable_output':
    case 'model_error':
    case 'timeout':
    case 'rule_violation':
      return verdict(ending.kind, withEndedBy(ending, message || ending.kind));
  }
}

function withEndedBy(ending: GameEnding, detail: string): string {
  return `${ending.endedBy}: ${detail}`;
}

/**
 * Protocol checks, each returning a sentence: candidate count and ids, target index, transcript
 * numbering and alternation (an optional opening description, then question/answer pairs), the
 * question budget, and for a guess: a valid index whose image id matches, made by the questioner
 * when it was its turn.
 */
export function findRuleViolations(game: GameState, ending: GameEnding): string[] {
  const problems: string[] = [];
  const { candidates, targetIndex, maxTurns, describeFirst } = game.setup;

  if (candidates.length < MIN_CANDIDATES || candidates.length > MAX_CANDIDATES) {
    problems.push(`${candidates.length} candidates, allowed ${MIN_CANDIDATES} to ${MAX_CANDIDATES}`);
  }
  if (new Set(candidates.map((c) => c.id)).size !== candidates.length) problems.push('candidate ids are not unique');
  if (!Number.isInteger(targetIndex) || targetIndex < 0 || targetIndex >= candidates.length) {
    problems.push(`targetIndex ${targetIndex} outside the ${candidates.length} candidates`);
  }

  let questions = 0;
  game.transcript.forEach((turn, i) => {
    if (turn.index !== i) problems.push(`turn ${i} is numbered ${turn.index}`);
    const expected = expectedTurn(i, describeFirst);
    if (turn.speaker !== expected.speaker || turn.kind !== expected.kind) {
      problems.push(`turn ${i} is ${withArticle(turn.kind)} by the ${turn.speaker}, expected ${withArticle(expected.kind)} by the ${expected.speaker}`);
    }
    if (turn.kind === 'question') questions++;
  });
  if (questions > maxTurns) problems.push(`${questions} questions asked, maxTurns is ${maxTurns}`);

  if (ending.kind === 'guess') {
    const index = ending.guessedIndex;
    if (ending.endedBy !== 'questioner') problems.push(`a guess ended by the ${ending.endedBy}`);
    if (index === null || !Number.isInteger(index) || index < 0 || index >= candidates.length) {
      problems.push(`guessedIndex ${index} outside the ${candidates.length} candidates`);
    } else if (ending.guessedImageId !== candidates[index]!.id) {
      problems.push(`guessedImageId ${ending.guessedImageId} is not the image at index ${index} (${candidates[index]!.id})`);
    }
    const last = game.transcript[game.transcript.length - 1];
    if (last?.kind === 'question') problems.push('guessed while its last question was unanswered');
    if (last === undefined && describeFirst) problems.push("guessed before the answerer's opening description");
  }
  return problems;
}

function expectedTurn(index: number, describeFirst: boolean): { speaker: 'questioner' | 'answerer'; kind: 'question' | 'answer' | 'description' } {
  if (describeFirst && index === 0) return { speaker: 'answerer', kind: 'description' };
  const position = describeFirst ? index - 1 : index;
  return position % 2 === 0 ? { speaker: 'questioner', kind: 'question' } : { speaker: 'answerer', kind: 'answer' };
}

function withArticle(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}
