import type { GameCurated, Turn } from '../../schemas/generated/events';

export interface CuratedEventOptions {
  gameId: string;
  runId?: string;
  iteration?: number;
  dataset?: string;
  questionerModel?: string;
  /** Default true. */
  success?: boolean;
  /** Default: success. */
  kept?: boolean;
  failureReason?: 'wrong_guess' | 'turn_limit' | 'model_error' | 'timeout';
  questions?: number;
  requestedAtMs?: number;
  curatedAtMs?: number;
  filterVersion?: string;
}

/**
 * A complete, valid GameCurated event for sink and analytics tests: 4 candidates, `questions`
 * question/answer pairs, a guess that hits the target (success) or the next candidate.
 */
export function curatedEvent(options: CuratedEventOptions): GameCurated {
  const success = options.success ?? true;
  const kept = options.kept ?? success;
  const requestedAtMs = options.requestedAtMs ?? 1_764_255_000_123;
  const questions = options.questions ?? 2;
  const candidates = ['img-a', 'img-b', 'img-c', 'img-d'].map((id) => ({
    id: `${options.gameId}-${id}`,
    uri: `file:///scenes/${id}.png`,
    sha256: 'ab'.repeat(32),
    mediaType: 'image/png',
    caption: null,
  }));
  const targetIndex = 2;
  const transcript: Turn[] = [];
  for (let q = 0; q < questions; q++) {
    transcript.push(turn(transcript.length, 'questioner', 'question', `Is there a red circle ${q}?`, requestedAtMs));
    transcript.push(turn(transcript.length, 'answerer', 'answer', q % 2 === 0 ? 'yes' : 'no', requestedAtMs));
  }
  const guessedIndex = success ? targetIndex : (targetIndex + 1) % candidates.length;
  const failureReason = success ? null : (options.failureReason ?? 'wrong_guess');
  const endedAtMs = requestedAtMs + 1000 + transcript.length * 10;
  const curatedAtMs = options.curatedAtMs ?? endedAtMs + 20;
  return {
    game: {
      header: {
        gameId: options.gameId,
        runId: options.runId ?? 'run-1',
        iteration: options.iteration ?? 0,
        dataset: options.dataset ?? 'synthetic-scenes',
        seed: 42,
        sampler: 'random',
        requestedAtMs,
        deadlineAtMs: requestedAtMs + 600_000,
        evalSet: null,
      },
      setup: {
        candidates,
        targetIndex,
        maxTurns: 10,
        questionMode: 'yesno',
        describeFirst: false,
        questioner: {
          endpoint: 'http://127.0.0.1:8000/v1',
          model: options.questionerModel ?? 'sim-vlm',
          promptVersion: 'v1',
          temperature: 0.7,
          topP: null,
          maxTokens: 256,
        },
        answerer: { endpoint: 'http://127.0.0.1:8000/v1', model: 'sim-vlm', promptVersion: 'v1', temperature: 0, topP: 0.9, maxTokens: 128 },
      },
      transcript,
    },
    ending: {
      kind: failureReason === 'model_error' ? 'model_error' : failureReason === 'timeout' ? 'timeout' : failureReason === 'turn_limit' ? 'turn_limit' : 'guess',
      endedBy: 'questioner',
      rawGuess: failureReason === null || failureReason === 'wrong_guess' ? `{"guess": ${guessedIndex + 1}}` : null,
      guessedIndex: failureReason === null || failureReason === 'wrong_guess' ? guessedIndex : null,
      guessedImageId: failureReason === null || failureReason === 'wrong_guess' ? candidates[guessedIndex]!.id : null,
      guessLatencyMs: 15,
      guessPromptTokens: 100,
      guessCompletionTokens: 5,
      guessCostUsd: 0.001,
      errorMessage: failureReason === 'model_error' ? "endpoint said 'no' -- \\ \n twice" : null,
      endedAtMs,
      call: null,
    },
    judgement: {
      verdict: success ? 'success' : 'failure',
      failureReason,
      detail: success ? 'guessed the target' : `failed: ${failureReason}`,
      refereeVersion: 'referee-v1',
      judgedAtMs: endedAtMs + 10,
    },
    curation: {
      kept,
      reasons: kept ? [] : success ? ['repeated_question'] : ['not_success'],
      filterVersion: options.filterVersion ?? 'filter-v1',
      transcriptHash: 'cd'.repeat(32),
      curatedAtMs,
    },
  };
}

function turn(index: number, speaker: Turn['speaker'], kind: Turn['kind'], text: string, baseMs: number): Turn {
  return {
    index,
    speaker,
    kind,
    text,
    rawOutput: speaker === 'questioner' ? JSON.stringify({ question: text }) : JSON.stringify({ answer: text }),
    latencyMs: 10 + index,
    promptTokens: 50 + index,
    completionTokens: 7,
    costUsd: 0.0001,
    createdAtMs: baseMs + 100 * (index + 1),
    usage: null,
  };
}
