import type { GameState, Speaker, Turn } from '../../schemas/generated/events';

/** Questions the questioner has asked so far. */
export function questionsAsked(game: GameState): number {
  return game.transcript.filter((turn) => turn.kind === 'question').length;
}

/** Questions the questioner may still ask; 0 means its next output must be a guess. */
export function questionsLeft(game: GameState): number {
  return Math.max(0, game.setup.maxTurns - questionsAsked(game));
}

/**
 * Whose move it is. With describeFirst the answerer opens; otherwise the questioner does, and then
 * the speakers alternate. Roles use this to ignore events that are not theirs to act on (e.g. the
 * GameRequested of a describeFirst game reaching the questioner).
 */
export function nextSpeaker(game: GameState): Speaker {
  const last: Turn | undefined = game.transcript[game.transcript.length - 1];
  if (last === undefined) return game.setup.describeFirst ? 'answerer' : 'questioner';
  return last.speaker === 'questioner' ? 'answerer' : 'questioner';
}

/** True once the game's deadline has passed: any role seeing this ends the game as timeout. */
export function deadlinePassed(game: GameState, now: number): boolean {
  return now > game.header.deadlineAtMs;
}

/**
 * Text reduced to what matters for comparing utterances: Unicode-normalised, lower case,
 * punctuation dropped, whitespace collapsed. "Is there a RED circle?" equals "is there a red circle".
 */
export function normaliseUtterance(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
