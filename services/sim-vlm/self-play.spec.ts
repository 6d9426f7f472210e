import { generateDistinctScenes } from '../datasets/scene-generator';
import { selfPlaySuccessRate } from './self-play';

describe('simulated questioner vs simulated answerer', () => {
  const pool = generateDistinctScenes(300, 7);

  it('wins at least 95% of 4-candidate games within 10 questions when answers are truthful', () => {
    const summary = selfPlaySuccessRate(pool, { games: 200, numCandidates: 4, maxTurns: 10, errorRate: 0, seed: 1 });
    console.log('error rate 0:', summary);
    expect(summary.successRate).toBeGreaterThanOrEqual(0.95);
  });

  it('loses clearly more often when answers are noisy', () => {
    const clean = selfPlaySuccessRate(pool, { games: 200, numCandidates: 4, maxTurns: 10, errorRate: 0, seed: 2 });
    const noisy = selfPlaySuccessRate(pool, { games: 200, numCandidates: 4, maxTurns: 10, errorRate: 0.3, seed: 2 });
    console.log('error rate 0.3:', noisy);
    expect(noisy.successRate).toBeLessThan(clean.successRate - 0.15);
  });
});
