import { buildGameRequest, gameSeed, validatePlan, type LaunchPlan } from './game-requests';
import type { DatasetImage } from '../datasets/dataset';

const images: DatasetImage[] = Array.from({ length: 20 }, (_, i) => ({
  id: `img-${i}`,
  uri: `file:///data/img-${i}.png`,
  sha256: i.toString(16).padStart(64, '0'),
  mediaType: 'image/png',
  caption: null,
}));

const model = { endpoint: 'http://127.0.0.1:8000/v1', model: 'sim-vlm', promptVersion: 'v1', temperature: 0, topP: null, maxTokens: 256 };
const plan: LaunchPlan = {
  runId: 'run-1',
  iteration: 2,
  datasetName: 'test',
  seed: 42,
  sampler: 'random',
  numCandidates: 4,
  maxTurns: 10,
  questionMode: 'yesno',
  describeFirst: false,
  deadlineMs: 60_000,
  questioner: model,
  answerer: { ...model, model: 'other' },
};

describe('buildGameRequest', () => {
  it('records the plan, the seed and distinct candidates with the target inside them', () => {
    const { game } = buildGameRequest(plan, images, 3, 1_000, 'g-1');
    expect(game.header).toEqual({
      gameId: 'g-1',
      runId: 'run-1',
      iteration: 2,
      dataset: 'test',
      seed: gameSeed(42, 3),
      sampler: 'random',
      requestedAtMs: 1_000,
      deadlineAtMs: 61_000,
      evalSet: null,
    });
    expect(game.setup.candidates).toHaveLength(4);
    expect(new Set(game.setup.candidates.map((c) => c.id)).size).toBe(4);
    expect(game.setup.targetIndex).toBeGreaterThanOrEqual(0);
    expect(game.setup.targetIndex).toBeLessThan(4);
    expect(game.setup.answerer.model).toBe('other');
    expect(game.transcript).toEqual([]);
  });

  it('is reproducible for the same launch seed and index, and varies across indexes', () => {
    const a = buildGameRequest(plan, images, 5, 0, 'x').game.setup;
    const b = buildGameRequest(plan, images, 5, 0, 'x').game.setup;
    expect(a).toEqual(b);
    const others = Array.from({ length: 10 }, (_, i) =>
      buildGameRequest(plan, images, i, 0, 'x')
        .game.setup.candidates.map((c) => c.id)
        .join(),
    );
    expect(new Set(others).size).toBeGreaterThan(5);
  });

  it('gives launches with nearby seeds disjoint game seeds', () => {
    const seeds = (launchSeed: number) => Array.from({ length: 200 }, (_, i) => gameSeed(launchSeed, i));
    const all = [0, 1, 2, 3, 11, 13, 42, 43].flatMap(seeds);
    expect(new Set(all).size).toBe(all.length);
  });

  it('spreads the target over display positions', () => {
    const positions = new Set(Array.from({ length: 40 }, (_, i) => buildGameRequest(plan, images, i, 0, 'x').game.setup.targetIndex));
    expect(positions.size).toBe(4);
  });
});

describe('validatePlan', () => {
  it('accepts a sound plan', () => expect(validatePlan(plan, 20)).toEqual([]));
  it('names each bad flag', () => {
    const problems = validatePlan({ ...plan, numCandidates: 17, maxTurns: 0, iteration: -1 }, 20);
    expect(problems.join('\n')).toMatch(/--candidates/);
    expect(problems.join('\n')).toMatch(/--max-turns/);
    expect(problems.join('\n')).toMatch(/--iteration/);
  });
  it('refuses a dataset smaller than the candidate count', () =>
    expect(validatePlan({ ...plan, numCandidates: 4 }, 3)[0]).toMatch(/fewer than --candidates 4/));
});
