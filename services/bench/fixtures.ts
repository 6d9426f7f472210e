import { loadFixture } from '../../schemas/fixtures';
import type { GameCurated, Turn } from '../../schemas/generated/events';

const QUESTIONS = [
  'Is there a red circle?',
  'Is there more than one shape?',
  'Is the largest shape on the left half?',
  'Is there a blue square?',
  'Is any shape small?',
  'Is there a green triangle in the top half?',
  'Are there exactly two shapes?',
  'Is there a yellow star?',
];

let template: GameCurated | undefined;

/** Questions and answers alternating, as a finished yes/no game leaves them. */
export function benchTranscript(turns: number, startedAtMs: number, variant: number): Turn[] {
  return Array.from({ length: turns }, (_, index): Turn => {
    const questioner = index % 2 === 0;
    const text = questioner ? QUESTIONS[(variant + index / 2) % QUESTIONS.length]! : (variant + index) % 3 === 0 ? 'no' : 'yes';
    return {
      index,
      speaker: questioner ? 'questioner' : 'answerer',
      kind: questioner ? 'question' : 'answer',
      text,
      rawOutput: JSON.stringify(questioner ? { question: text } : { answer: text }),
      latencyMs: 20 + ((variant + index) % 40),
      promptTokens: questioner ? 1200 + index * 30 : 400 + index * 20,
      completionTokens: questioner ? 12 : 6,
      costUsd: 0,
      createdAtMs: startedAtMs + 100 * (index + 1),
      usage: null,
    };
  });
}

/**
 * A realistic GameCurated: the golden fixture (schemas/fixtures) with a `turns`-turn transcript
 * and its own game id, so every event of a batch is a different game.
 */
export function benchCuratedEvent(index: number, options: { turns?: number; runId?: string; idPrefix?: string } = {}): GameCurated {
  // Read once: events share the fixture's unchanged parts (setup, candidates), which nothing mutates.
  const event = (template ??= loadFixture('GameCurated'));
  const requestedAtMs = event.game.header.requestedAtMs + index;
  const transcript = benchTranscript(options.turns ?? 10, requestedAtMs, index);
  const last = transcript.at(-1)?.createdAtMs ?? requestedAtMs;
  return {
    ...event,
    game: {
      ...event.game,
      header: {
        ...event.game.header,
        gameId: `${options.idPrefix ?? 'bench'}-${String(index).padStart(8, '0')}`,
        runId: options.runId ?? event.game.header.runId,
        seed: index,
        requestedAtMs,
      },
      transcript,
    },
    ending: { ...event.ending, endedAtMs: last + 100 },
    judgement: { ...event.judgement, judgedAtMs: last + 150 },
    curation: { ...event.curation, curatedAtMs: last + 200 },
  };
}

/** `count` distinct curated games. */
export function benchCuratedEvents(count: number, options: { turns?: number; runId?: string; idPrefix?: string } = {}): GameCurated[] {
  return Array.from({ length: count }, (_, i) => benchCuratedEvent(i, options));
}
