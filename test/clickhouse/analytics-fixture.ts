import type { GameCurated } from '../../schemas/generated/events';
import { curatedEvent } from './curated-event';

/** Start of a UTC minute; games of the fixture end in this minute and the two after it. */
export const T0 = 1_764_255_000_000;

/**
 * Nine games in two runs, two iterations and two questioner models, ending in three consecutive
 * minutes, with the numbers the analytics queries must report for them — on the local 18.16 server
 * and on the modern engine alike.
 */
export function analyticsFixture(): GameCurated[] {
  const minute = (n: number) => T0 + n * 60_000 + 5_000;
  return [
    curatedEvent({ gameId: 'g01', runId: 'run-a', iteration: 0, questionerModel: 'model-x', requestedAtMs: minute(0) }),
    curatedEvent({ gameId: 'g02', runId: 'run-a', iteration: 0, questionerModel: 'model-x', requestedAtMs: minute(0), questions: 3 }),
    curatedEvent({
      gameId: 'g03',
      runId: 'run-a',
      iteration: 0,
      questionerModel: 'model-x',
      requestedAtMs: minute(0),
      success: false,
      failureReason: 'wrong_guess',
    }),
    curatedEvent({ gameId: 'g04', runId: 'run-a', iteration: 0, questionerModel: 'model-x', requestedAtMs: minute(0), kept: false }),
    curatedEvent({ gameId: 'g05', runId: 'run-a', iteration: 1, questionerModel: 'model-y', requestedAtMs: minute(1) }),
    curatedEvent({
      gameId: 'g06',
      runId: 'run-a',
      iteration: 1,
      questionerModel: 'model-y',
      requestedAtMs: minute(1),
      success: false,
      failureReason: 'model_error',
    }),
    curatedEvent({
      gameId: 'g07',
      runId: 'run-a',
      iteration: 1,
      questionerModel: 'model-y',
      requestedAtMs: minute(1),
      success: false,
      failureReason: 'timeout',
    }),
    curatedEvent({ gameId: 'g08', runId: 'run-a', iteration: 1, questionerModel: 'model-y', requestedAtMs: minute(1), questions: 1 }),
    curatedEvent({ gameId: 'g09', runId: 'run-b', iteration: 1, questionerModel: 'model-y', requestedAtMs: minute(2) }),
  ];
}

export const EXPECTED = {
  runA: { games: 8, succeeded: 5, failed: 3, kept: 4, successRate: 0.625 },
  all: { games: 9, succeeded: 6, failed: 3, kept: 5 },
  runAFailures: { wrong_guess: 1, model_error: 1, timeout: 1 },
  runAByIteration: [
    { iteration: 0, games: 4, succeeded: 3, kept: 2, successRate: 0.75 },
    { iteration: 1, games: 4, succeeded: 2, kept: 2, successRate: 0.5 },
  ],
  /** throughputPerMinute({ minutes: 4, nowMs: T0 + 150 s }), all runs. */
  throughput: [
    { minuteStartMs: T0 - 60_000, games: 0, succeeded: 0 },
    { minuteStartMs: T0, games: 4, succeeded: 3 },
    { minuteStartMs: T0 + 60_000, games: 4, succeeded: 2 },
    { minuteStartMs: T0 + 120_000, games: 1, succeeded: 1 },
  ],
  throughputNowMs: T0 + 150_000,
  /** questions per game in run a: 2,3,2,2,2,2,2,1 */
  runAAvgQuestions: 2,
};
