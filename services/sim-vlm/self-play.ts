import { createRng, seedFrom } from '../datasets/prng';
import type { Scene } from '../datasets/scene';
import { answerQuestion } from './answerer';
import { chooseQuestionerMove, type DialogStep } from './questioner';

/**
 * Simulated questioner against simulated answerer with no transport: the reference for what the
 * simulator achieves, and a quick check of its calibration (success rate vs error rate).
 */

export interface SelfPlayGame {
  candidates: readonly Scene[];
  targetIndex: number;
  maxTurns: number;
  errorRate: number;
  seed: number;
}

export interface SelfPlayResult {
  success: boolean;
  guessedIndex: number;
  questionsAsked: number;
  transcript: DialogStep[];
}

export function playSimulatedGame(game: SelfPlayGame): SelfPlayResult {
  const questionerRng = createRng(seedFrom(game.seed, 'questioner'));
  const answererRng = createRng(seedFrom(game.seed, 'answerer'));
  const target = game.candidates[game.targetIndex];
  const transcript: DialogStep[] = [];
  for (;;) {
    const move = chooseQuestionerMove({ candidates: game.candidates, history: transcript, mustGuess: transcript.length >= game.maxTurns }, questionerRng);
    if (move.kind === 'guess') {
      return { success: move.index === game.targetIndex, guessedIndex: move.index, questionsAsked: transcript.length, transcript };
    }
    const answer = answerQuestion(target, move.text, { mode: 'yesno', errorRate: game.errorRate, rng: answererRng });
    transcript.push({ question: move.text, answer: answer.answer });
  }
}

export interface SelfPlaySummary {
  games: number;
  successes: number;
  successRate: number;
  meanQuestions: number;
}

/** `games` games on candidates drawn from `pool` (distinct scenes), all seeded from `seed`. */
export function selfPlaySuccessRate(
  pool: readonly Scene[],
  options: { games: number; numCandidates: number; maxTurns: number; errorRate: number; seed: number },
): SelfPlaySummary {
  const rng = createRng(options.seed);
  let successes = 0;
  let questions = 0;
  for (let g = 0; g < options.games; g++) {
    const candidates = rng.shuffle(pool).slice(0, options.numCandidates);
    const result = playSimulatedGame({
      candidates,
      targetIndex: rng.int(candidates.length),
      maxTurns: options.maxTurns,
      errorRate: options.errorRate,
      seed: rng.int(2 ** 31),
    });
    if (result.success) successes++;
    questions += result.questionsAsked;
  }
  return { games: options.games, successes, successRate: successes / options.games, meanQuestions: questions / options.games };
}
