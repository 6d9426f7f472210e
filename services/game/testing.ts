import type { GameState, ImageRef, ModelSpec, QuestionMode, Turn } from '../../schemas/generated/events';

/** Builders of plain game values for unit tests (no I/O, deterministic). */

export interface GameOptions {
  gameId?: string;
  numCandidates?: number;
  targetIndex?: number;
  maxTurns?: number;
  questionMode?: QuestionMode;
  describeFirst?: boolean;
  candidateIds?: string[];
  requestedAtMs?: number;
  deadlineAtMs?: number;
}

export const TEST_NOW = 1_750_000_000_000;

export function testModelSpec(model: string): ModelSpec {
  return { endpoint: 'http://127.0.0.1:1/v1', model, promptVersion: 'v1', temperature: 0, topP: null, maxTokens: 256 };
}

export function testImage(id: string): ImageRef {
  return { id, uri: `file:///data/scenes/${id}.png`, sha256: 'ab'.repeat(32), mediaType: 'image/png', caption: null };
}

export function makeGame(options: GameOptions = {}): GameState {
  const numCandidates = options.candidateIds?.length ?? options.numCandidates ?? 4;
  const ids = options.candidateIds ?? Array.from({ length: numCandidates }, (_, i) => `scene-${String(i).padStart(4, '0')}`);
  const requestedAtMs = options.requestedAtMs ?? TEST_NOW - 1_000;
  return {
    header: {
      gameId: options.gameId ?? 'game-0001',
      runId: 'run-test',
      iteration: 0,
      dataset: 'synthetic-scenes',
      seed: 42,
      sampler: 'random',
      requestedAtMs,
      deadlineAtMs: options.deadlineAtMs ?? requestedAtMs + 600_000,
      evalSet: null,
    },
    setup: {
      candidates: ids.map(testImage),
      targetIndex: options.targetIndex ?? 0,
      maxTurns: options.maxTurns ?? 10,
      questionMode: options.questionMode ?? 'yesno',
      describeFirst: options.describeFirst ?? false,
      questioner: testModelSpec('sim-questioner'),
      answerer: testModelSpec('sim-answerer'),
    },
    transcript: [],
  };
}

/** Appends turns as the roles would: an optional description, then question/answer pairs. */
export function withDialog(game: GameState, pairs: Array<[question: string, answer?: string]>, description?: string): GameState {
  const transcript: Turn[] = [...game.transcript];
  const push = (speaker: Turn['speaker'], kind: Turn['kind'], text: string): void => {
    transcript.push({
      index: transcript.length,
      speaker,
      kind,
      text,
      rawOutput: text,
      latencyMs: 5,
      promptTokens: 100,
      completionTokens: 10,
      costUsd: 0,
      createdAtMs: TEST_NOW - 500 + transcript.length,
      usage: null,
    });
  };
  if (description !== undefined) push('answerer', 'description', description);
  for (const [question, answer] of pairs) {
    push('questioner', 'question', question);
    if (answer !== undefined) push('answerer', 'answer', answer);
  }
  return { ...game, transcript };
}
