import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { generateDistinctScenes } from '../datasets/scene-generator';
import { DEFAULT_EXPERIMENT, runSelfImprovement } from './experiment';
import { buildVocabulary } from './features';
import { TinyVlm } from './model';
import { accuracy, drawGames, labelledQuestions, playGames, sampleYes, sceneImages, wilson } from './play';

describe('in-process play and measurement', () => {
  const pool = sceneImages(generateDistinctScenes(16, 4, 48));
  const settings = { numCandidates: 4, maxTurns: 3 };

  it('Wilson interval: known values, bounded, narrower with more trials', () => {
    const a = wilson(50, 100);
    expect(a.low).toBeCloseTo(0.4038, 3);
    expect(a.high).toBeCloseTo(0.5962, 3);
    expect(wilson(0, 10).low).toBe(0);
    expect(wilson(10, 10).high).toBe(1);
    const b = wilson(500, 1000);
    expect(b.high - b.low).toBeLessThan(a.high - a.low);
  });

  it('sampling: temperature → 0 answers the likelier answer; at 1 yes comes with probability P(yes)', () => {
    expect(sampleYes(0.6, 0.01, 0.99)).toBe(1);
    expect(sampleYes(0.4, 0.01, 0.01)).toBe(0);
    let yes = 0;
    for (let i = 0; i < 1000; i++) yes += sampleYes(0.3, 1, (i + 0.5) / 1000);
    expect(yes).toBeGreaterThan(280);
    expect(yes).toBeLessThan(320);
  });

  it('plays every game to a guess with the model as answerer, reproducibly', async () => {
    const questions = labelledQuestions(pool, 40, settings, 1);
    expect(questions.every((q) => /\?$/.test(q.question))).toBe(true);
    const model = await TinyVlm.create(buildVocabulary(questions.map((q) => q.question)), 1);
    const specs = drawGames(pool.length, 20, settings, 2);
    const first = playGames(model, pool, specs, settings, 1);
    const again = playGames(model, pool, specs, settings, 1);
    expect(again).toEqual(first);
    for (const game of first) {
      expect(game.turns.length).toBeGreaterThan(0);
      expect(game.turns.length).toBeLessThanOrEqual(settings.maxTurns);
      for (const t of game.turns) expect(['yes', 'no']).toContain(t.answer);
      expect(game.success).toBe(game.guessedIndex === game.spec.targetIndex);
    }
    const acc = accuracy(model, questions);
    expect(acc).toBeGreaterThanOrEqual(0);
    expect(acc).toBeLessThanOrEqual(1);
    model.dispose();
  });

  it("the experiment refuses to wipe an --out directory that is not an earlier experiment's", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tiny-vlm-exp-'));
    await writeFile(path.join(dir, 'precious.txt'), 'keep me');
    await expect(runSelfImprovement({ ...DEFAULT_EXPERIMENT, outDir: dir })).rejects.toThrow(/is not empty and holds no self-improvement\.json/);
    await rm(dir, { recursive: true, force: true });
  });
});
