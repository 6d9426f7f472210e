import type { GameCurated, GameState } from '../../schemas/generated/events';
import { toFineTuningExample } from './fine-tuning';
import { buildQuestionerMessages } from './messages';
import { loadPrompts } from './prompts';
import { failureEnding } from './steps';
import { makeGame, TEST_NOW, withDialog } from './testing';

const prompts = loadPrompts('v1');
const now = TEST_NOW;

function curated(game: GameState, overrides: Partial<GameCurated> = {}): GameCurated {
  const target = game.setup.targetIndex;
  return {
    game,
    ending: {
      ...failureEnding('no_guess', 'questioner', '', now),
      kind: 'guess',
      errorMessage: null,
      rawGuess: `Guess: ${target + 1}`,
      guessedIndex: target,
      guessedImageId: game.setup.candidates[target]!.id,
    },
    judgement: { verdict: 'success', failureReason: null, detail: '', refereeVersion: 'referee-1', judgedAtMs: now },
    curation: { kept: true, reasons: [], filterVersion: 'filter-1', transcriptHash: 'f'.repeat(64), curatedAtMs: now },
    ...overrides,
  };
}

describe('toFineTuningExample', () => {
  const game = withDialog(makeGame({ targetIndex: 2 }), [
    ['Is there a red circle?', 'yes'],
    ['Is it large?', 'no'],
  ]);

  it('is the questioner view of the game followed by its guess as JSON', () => {
    const example = toFineTuningExample(curated(game), prompts);
    const byUri = new Map(game.setup.candidates.map((c) => [c.id, c.uri]));
    expect(example.messages.slice(0, -1)).toEqual(buildQuestionerMessages(game, byUri, prompts));
    expect(example.messages.at(-1)).toEqual({ role: 'assistant', content: '{"guess":3}' });
    expect(example.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
    expect(example.messages.filter((m) => m.role === 'assistant').map((m) => m.content)).toEqual([
      '{"question":"Is there a red circle?"}',
      '{"question":"Is it large?"}',
      '{"guess":3}',
    ]);
    expect(JSON.stringify(example.messages)).toContain('file:///data/scenes/scene-0002.png');
  });

  it('carries provenance', () => {
    const { metadata } = toFineTuningExample(curated(game), prompts);
    expect(metadata).toEqual({
      game_id: 'game-0001',
      run_id: 'run-test',
      iteration: 0,
      dataset: 'synthetic-scenes',
      seed: 42,
      sampler: 'random',
      candidate_ids: ['scene-0000', 'scene-0001', 'scene-0002', 'scene-0003'],
      target_index: 2,
      question_mode: 'yesno',
      max_turns: 10,
      describe_first: false,
      questions_asked: 2,
      models: {
        questioner: { endpoint: 'http://127.0.0.1:1/v1', model: 'sim-questioner', temperature: 0, top_p: null, max_tokens: 256 },
        answerer: { endpoint: 'http://127.0.0.1:1/v1', model: 'sim-answerer', temperature: 0, top_p: null, max_tokens: 256 },
      },
      prompt_versions: { questioner: 'v1', answerer: 'v1' },
      filter_version: 'filter-1',
      referee_version: 'referee-1',
      transcript_hash: 'f'.repeat(64),
    });
  });

  it('lets the export choose image URLs (e.g. inline data URLs)', () => {
    const example = toFineTuningExample(curated(game), prompts, { imageUrl: (image) => `data:image/png;base64,${Buffer.from(image.id).toString('base64')}` });
    const urls = example.messages.flatMap((m) =>
      typeof m.content === 'string' ? [] : m.content.flatMap((p) => (p.type === 'image_url' ? [p.image_url.url] : [])),
    );
    expect(urls).toHaveLength(4);
    expect(urls.every((url) => url.startsWith('data:image/png;base64,'))).toBe(true);
  });

  it('refuses games that were not kept, did not end in a guess, or used other prompts', () => {
    expect(() => toFineTuningExample(curated(game, { curation: { ...curated(game).curation, kept: false, reasons: ['not_success'] } }), prompts)).toThrow(
      /not kept \(not_success\)/,
    );
    expect(() => toFineTuningExample(curated(game, { ending: failureEnding('timeout', 'answerer', 'late', now) }), prompts)).toThrow(/ended with timeout/);
    expect(() => toFineTuningExample(curated(game), { ...prompts, version: 'v2' })).toThrow(/played with questioner prompts v1, got v2/);
  });
});
