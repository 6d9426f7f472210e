/** One finished game's timestamps as the games and turns tables record them. */
export interface GameClock {
  requestedAtMs: number;
  endedAtMs: number;
  /** The questioner's total model time, its final (guess) call included. */
  questionerLatencyMs: number;
  /** The game ended with the questioner's output (a guess or an output it could not go on from). */
  endedByQuestionerOutput: boolean;
  /** In transcript order. */
  turns: ReadonlyArray<{ speaker: 'questioner' | 'answerer'; createdAtMs: number; latencyMs: number }>;
}

/**
 * Time between model calls that is not model time: for each turn, from the previous step (the
 * request, or the previous turn being recorded) to this turn being recorded, minus this turn's
 * model latency; and the same for the final guess call. That is publish, Kafka, consume,
 * scheduling and request building — the pipeline's cost per hop. Negative gaps (clock rounding)
 * count as 0.
 */
export function transportGaps(game: GameClock): number[] {
  const gaps: number[] = [];
  let previous = game.requestedAtMs;
  let questionerTurnsMs = 0;
  for (const turn of game.turns) {
    gaps.push(Math.max(0, turn.createdAtMs - previous - turn.latencyMs));
    if (turn.speaker === 'questioner') questionerTurnsMs += turn.latencyMs;
    previous = turn.createdAtMs;
  }
  if (game.endedByQuestionerOutput) {
    const finalCallMs = Math.max(0, game.questionerLatencyMs - questionerTurnsMs);
    gaps.push(Math.max(0, game.endedAtMs - previous - finalCallMs));
  }
  return gaps;
}
