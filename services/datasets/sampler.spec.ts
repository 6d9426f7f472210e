import { BadInputError } from '../core/errors';
import type { Dataset, DatasetImage } from './dataset';
import { distinctnessKeys, sampleGame, samplers } from './sampler';
import { generateDistinctScenes } from './scene-generator';

function sceneDataset(count: number): Dataset {
  const images: DatasetImage[] = generateDistinctScenes(count, 3).map((scene, i) => ({
    id: `scene-${i}`,
    uri: `file:///data/scene-${i}.png`,
    sha256: i.toString(16).padStart(64, '0'),
    mediaType: 'image/png',
    caption: null,
    attributes: scene,
  }));
  return { name: 'scenes', images, problems: [] };
}

describe('sampleGame', () => {
  const dataset = sceneDataset(100);

  it('is deterministic for a seed and varies across seeds', () => {
    const a = sampleGame(dataset, { numCandidates: 4, seed: 17 });
    expect(sampleGame(dataset, { numCandidates: 4, seed: 17 })).toEqual(a);
    const others = [1, 2, 3, 4, 5].map((seed) =>
      sampleGame(dataset, { numCandidates: 4, seed })
        .candidates.map((c) => c.id)
        .join(),
    );
    expect(new Set(others).size).toBeGreaterThan(1);
    expect(sampleGame(dataset, { numCandidates: 4, seed: 'run-1/game-7' })).toEqual(sampleGame(dataset, { numCandidates: 4, seed: 'run-1/game-7' }));
  });

  it('returns distinct candidates, a valid target index and a display permutation', () => {
    for (let seed = 0; seed < 200; seed++) {
      const numCandidates = 2 + (seed % 15);
      const game = sampleGame(dataset, { numCandidates, seed });
      expect(game.candidates).toHaveLength(numCandidates);
      expect(new Set(game.candidates.map((c) => c.id)).size).toBe(numCandidates);
      expect(game.targetIndex).toBeGreaterThanOrEqual(0);
      expect(game.targetIndex).toBeLessThan(numCandidates);
      expect(game.displayOrder[game.targetIndex]).toBe(0);
      expect([...game.displayOrder].sort((x, y) => x - y)).toEqual([...Array(numCandidates).keys()]);
      expect(game.sampler).toBe('random');
    }
  });

  it('spreads the target over display positions', () => {
    const positions = new Set<number>();
    for (let seed = 0; seed < 50; seed++) positions.add(sampleGame(dataset, { numCandidates: 4, seed }).targetIndex);
    expect(positions.size).toBe(4);
  });

  it('skips images that duplicate an already drawn one (same scene or same bytes)', () => {
    const base = dataset.images.slice(0, 3);
    const copies: DatasetImage[] = [
      ...base,
      { ...base[0]!, id: 'copy-of-0', sha256: 'f'.repeat(64) },
      { ...base[1]!, id: 'copy-of-1', attributes: undefined },
      { ...base[1]!, id: 'copy-of-1b', attributes: undefined },
    ];
    const small: Dataset = { name: 'dups', images: copies, problems: [] };
    for (let seed = 0; seed < 30; seed++) {
      const game = sampleGame(small, { numCandidates: 3, seed });
      const keys = game.candidates.flatMap(distinctnessKeys);
      expect(new Set(keys).size).toBe(keys.length);
    }
    expect(() => sampleGame(small, { numCandidates: 4, seed: 1 })).toThrow(/only 3 distinct images, 4 candidates requested/);
  });

  it('enforces 2..16 candidates and known samplers', () => {
    for (const numCandidates of [1, 17, 2.5]) {
      expect(() => sampleGame(dataset, { numCandidates, seed: 1 })).toThrow(BadInputError);
    }
    expect(() => sampleGame(dataset, { numCandidates: 4, seed: 1, sampler: 'hardest' })).toThrow(/unknown sampler "hardest" \(known: random\)/);
    expect(Object.keys(samplers)).toContain('random');
  });
});
