import { NonRetriableError } from '../core/errors';
import { redactText } from '../core/logging/redact';
import type {
  AnswerGiven,
  CallUsage,
  EndedBy,
  EndingKind,
  GameEnding,
  GameState,
  GameEnded,
  ImageRef,
  QuestionAsked,
  Speaker,
  Turn,
  TurnKind,
} from '../../schemas/generated/events';
import type { ParsedAnswererOutput } from './answerer-output';
import type { ParsedQuestionerOutput } from './questioner-output';
import { excerpt } from './model-output';
import { deadlinePassed, nextSpeaker, questionsLeft } from './transcript';

/**
 * One model call as the game records it. Structurally the result of the core model client's
 * `complete()`, so a role passes that result straight in.
 */
export interface ModelCall {
  text: string;
  latencyMs: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  /** The call as really sent (spec, cached tokens, calls, retries by cause); recorded on the turn. */
  usage?: CallUsage | null;
}

export type QuestionerStep = { kind: 'question'; event: QuestionAsked } | { kind: 'end'; event: GameEnded };
export type AnswererStep = { kind: 'answer'; event: AnswerGiven } | { kind: 'end'; event: GameEnded };

/**
 * What the questioner's output does to the game:
 * - past the deadline → timeout (the late output is dropped);
 * - a guess → GameEnded(kind=guess) with the guessed image id and the call's cost;
 * - a question → QuestionAsked with the question appended, unless every question is used: that
 *   request demanded a guess, so a question ends the game as turn_limit;
 * - an explicit refusal → no_guess; unparseable → unparseable_output. The raw output is kept in
 *   rawGuess for every questioner ending.
 */
export function decideQuestionerStep(game: GameState, parsed: ParsedQuestionerOutput, call: ModelCall, now: number): QuestionerStep {
  assertTurn(game, 'questioner');
  if (deadlinePassed(game, now)) return end(game, { ...timeoutEnding(game, 'questioner', now), ...questionerCallFields(call) });
  switch (parsed.kind) {
    case 'guess': {
      const guessed = game.setup.candidates[parsed.index];
      if (guessed === undefined) {
        return end(
          game,
          questionerEnding('unparseable_output', call, now, `guess index ${parsed.index} outside the ${game.setup.candidates.length} candidates`),
        );
      }
      return end(game, { ...questionerEnding('guess', call, now, null), guessedIndex: parsed.index, guessedImageId: guessed.id });
    }
    case 'question': {
      if (questionsLeft(game) === 0) {
        return end(game, questionerEnding('turn_limit', call, now, `asked a question after using all ${game.setup.maxTurns} questions instead of guessing`));
      }
      const next = appendTurn(game, makeTurn(game, 'questioner', 'question', parsed.text, call, now));
      return { kind: 'question', event: { game: next, question: parsed.text } };
    }
    case 'no_guess':
      return end(game, questionerEnding('no_guess', call, now, parsed.reason));
    case 'unparseable':
      return end(game, questionerEnding('unparseable_output', call, now, `questioner output unparseable: ${parsed.reason}`));
  }
}

/**
 * What the answerer's output does to the game: past the deadline → timeout; an answer (or the
 * opening description of a describeFirst game) → AnswerGiven with the turn appended; unparseable →
 * GameEnded(unparseable_output, endedBy answerer) with an excerpt of the raw output in the message.
 */
export function decideAnswererStep(game: GameState, parsed: ParsedAnswererOutput, call: ModelCall, now: number): AnswererStep {
  assertTurn(game, 'answerer');
  // The call's tokens and cost go on the ending (ending.call) even when its output is not used.
  if (deadlinePassed(game, now)) return end(game, { ...timeoutEnding(game, 'answerer', now), call: usageOf(call, 'answerer') });
  if (parsed.kind === 'unparseable') {
    return end(game, {
      ...failureEnding('unparseable_output', 'answerer', `answerer output unparseable: ${parsed.reason}; raw output: ${excerpt(call.text, 300)}`, now),
      call: usageOf(call, 'answerer'),
    });
  }
  const next = appendTurn(game, makeTurn(game, 'answerer', answererRequestKind(game) === 'description' ? 'description' : 'answer', parsed.text, call, now));
  return { kind: 'answer', event: { game: next, answer: parsed.text } };
}

/** Whether the answerer's next output is the opening description or an answer to the last question. */
export function answererRequestKind(game: GameState): 'answer' | 'description' {
  return game.transcript.length === 0 && game.setup.describeFirst ? 'description' : 'answer';
}

/** A Turn record for one model call; `index` is its position in the transcript. */
export function makeTurn(game: GameState, speaker: Speaker, kind: TurnKind, text: string, call: ModelCall, now: number): Turn {
  return {
    index: game.transcript.length,
    speaker,
    kind,
    text,
    rawOutput: call.text,
    latencyMs: Math.max(0, Math.round(call.latencyMs)),
    promptTokens: call.promptTokens,
    completionTokens: call.completionTokens,
    costUsd: call.costUsd,
    createdAtMs: now,
    usage: usageOf(call, speaker),
  };
}

/** The usage record of a call as the role measured it (null for calls made without one, e.g. in tests). */
export function usageOf(call: ModelCall, _role: Speaker): CallUsage | null {
  return call.usage ?? null;
}

export function appendTurn(game: GameState, turn: Turn): GameState {
  return { ...game, transcript: [...game.transcript, turn] };
}

/** The GameEnded event that hands a finished game to the referee. */
export function endGame(game: GameState, ending: GameEnding): GameEnded {
  return { game, ending };
}

/** An ending with no guess and no model call behind it. */
export function failureEnding(kind: Exclude<EndingKind, 'guess'>, endedBy: EndedBy, errorMessage: string, now: number): GameEnding {
  return blankEnding(kind, endedBy, errorMessage, now);
}

function blankEnding(kind: EndingKind, endedBy: EndedBy, errorMessage: string | null, now: number): GameEnding {
  return {
    kind,
    endedBy,
    rawGuess: null,
    guessedIndex: null,
    guessedImageId: null,
    guessLatencyMs: 0,
    guessPromptTokens: 0,
    guessCompletionTokens: 0,
    guessCostUsd: 0,
    // An endpoint may echo the API key in its error; the message travels in events and ClickHouse.
    errorMessage: errorMessage === null ? null : redactText(errorMessage),
    endedAtMs: now,
    call: null,
  };
}

/** The endpoint failed for good (retries exhausted or not retriable); the message names endpoint and model. */
export function modelErrorEnding(endedBy: EndedBy, message: string, now: number, call: CallUsage | null = null): GameEnding {
  return { ...failureEnding('model_error', endedBy, message, now), call };
}

/** The game's own input is unusable (a request that cannot be built, e.g. a bad target index or prompt): bad_input. */
export function badInputEnding(endedBy: EndedBy, message: string, now: number): GameEnding {
  return failureEnding('bad_input', endedBy, message, now);
}

/** An image could not be loaded or failed its checksum; the message names the image id and URI. */
export function badImageEnding(endedBy: EndedBy, image: Pick<ImageRef, 'id' | 'uri'>, reason: string, now: number): GameEnding {
  return failureEnding('bad_image', endedBy, `image ${image.id} (${image.uri}): ${reason}`, now);
}

export function timeoutEnding(game: GameState, endedBy: EndedBy, now: number): GameEnding {
  const { deadlineAtMs } = game.header;
  return failureEnding(
    'timeout',
    endedBy,
    `deadline ${new Date(deadlineAtMs).toISOString()} passed ${now - deadlineAtMs} ms ago (seen by the ${endedBy})`,
    now,
  );
}

function questionerEnding(kind: EndingKind, call: ModelCall, now: number, errorMessage: string | null): GameEnding {
  return { ...blankEnding(kind, 'questioner', errorMessage, now), ...questionerCallFields(call) };
}

function questionerCallFields(
  call: ModelCall,
): Pick<GameEnding, 'rawGuess' | 'guessLatencyMs' | 'guessPromptTokens' | 'guessCompletionTokens' | 'guessCostUsd' | 'call'> {
  return {
    call: usageOf(call, 'questioner'),
    rawGuess: call.text,
    guessLatencyMs: Math.max(0, Math.round(call.latencyMs)),
    guessPromptTokens: call.promptTokens,
    guessCompletionTokens: call.completionTokens,
    guessCostUsd: call.costUsd,
  };
}

function end(game: GameState, ending: GameEnding): { kind: 'end'; event: GameEnded } {
  return { kind: 'end', event: endGame(game, ending) };
}

function assertTurn(game: GameState, speaker: Speaker): void {
  if (nextSpeaker(game) !== speaker) {
    throw new NonRetriableError(`game ${game.header.gameId}: not the ${speaker}'s turn (${game.transcript.length} turns so far)`);
  }
}
