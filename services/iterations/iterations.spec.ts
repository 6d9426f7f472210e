import { buildEvalSet, isEvalImage, wilsonInterval } from './eval-sets';
import { loopIdOf, parseHookOutput, renderHook, trainIterations, type IterateSpec } from './iterate';
import type { DatasetImage } from '../datasets/dataset';

const image = (i: number): DatasetImage => ({
  id: `scene-${i}`,
  uri: `file:///d/scene-${i}.png`,
  sha256: `${i}`.padStart(64, '0'),
  mediaType: 'image/png',
  caption: null,
});
const dataset = { name: 'test', images: Array.from({ length: 200 }, (_, i) => image(i)) };

describe('Wilson interval', () => {
  it('matches the textbook values and stays inside [0, 1]', () => {
    const { low, high } = wilsonInterval(8, 10);
    expect(low).toBeCloseTo(0.4902, 3);
    expect(high).toBeCloseTo(0.9433, 3);
    expect(wilsonInterval(0, 10).low).toBe(0);
    expect(wilsonInterval(10, 10).high).toBe(1);
    expect(wilsonInterval(0, 0)).toEqual({ low: 0, high: 1 });
  });
});

describe('eval sets', () => {
  it('draw every candidate from the eval split, the same setups for the same seed, other setups for another', () => {
    const spec = { name: 'e', games: 20, seed: 3, numCandidates: 4, maxTurns: 10, questionMode: 'yesno' as const };
    const a = buildEvalSet(spec, dataset, 1);
    const b = buildEvalSet(spec, dataset, 2);
    expect(a.setups).toEqual(b.setups);
    expect(a.setupsHash).toBe(b.setupsHash);
    expect(buildEvalSet({ ...spec, seed: 4 }, dataset).setupsHash).not.toBe(a.setupsHash);
    for (const setup of a.setups) for (const c of setup.candidates) expect(isEvalImage(c.id)).toBe(true);
    expect(a.evalImageIds.length).toBeGreaterThan(20);
    expect(a.evalImageIds.length).toBeLessThan(80);
  });

  it('refuses a dataset whose eval split is too small, naming it', () => {
    expect(() =>
      buildEvalSet(
        { name: 'e', games: 1, seed: 1, numCandidates: 16, maxTurns: 10, questionMode: 'yesno' },
        { name: 'tiny', images: dataset.images.slice(0, 10) },
      ),
    ).toThrow(/dataset tiny: its eval split holds \d+ images/);
  });
});

describe('iterate hook', () => {
  it('fills the template with shell-quoted values and leaves unknown placeholders', () => {
    expect(renderHook('train --data {dataset} --base {base_model} --x {unknown}', { dataset: '/tmp/my data/a.jsonl', base_model: 'sim-vlm@err=0.3' })).toBe(
      "train --data '/tmp/my data/a.jsonl' --base sim-vlm@err=0.3 --x {unknown}",
    );
    expect(renderHook('{out}', { out: "it's" })).toBe(`'it'\\''s'`);
  });

  it('takes the last JSON object line with name and endpoint', () => {
    const stdout = ['loss 0.3', '{"name":"old","endpoint":"http://a/v1"}', '{"progress":1}', '{"name":"m2","endpoint":"http://b/v1","path":"/x"}', 'done'].join(
      '\n',
    );
    expect(parseHookOutput(stdout)).toEqual({ name: 'm2', endpoint: 'http://b/v1', line: '{"name":"m2","endpoint":"http://b/v1","path":"/x"}' });
    expect(parseHookOutput('{"name":"x"}\nnot json')).toBeUndefined();
  });

  it('identifies a loop by its arguments, not its output folder', () => {
    const spec: IterateSpec = {
      fromModel: 'm',
      iterations: 3,
      gamesPerIteration: 10,
      hook: 'h',
      view: 'answerer',
      role: 'answerer',
      evalSet: 'e',
      dataset: 'd',
      format: 'openai',
      outDir: '/a',
      candidates: 4,
      maxTurns: 10,
      seed: 1,
    };
    expect(loopIdOf({ ...spec, outDir: '/b' })).toBe(loopIdOf(spec));
    expect(loopIdOf({ ...spec, iterations: 4 })).not.toBe(loopIdOf(spec));
  });

  it('keeps the id of a loop at the default --train-on current and no play suffix; other values make another loop', () => {
    const spec: IterateSpec = {
      fromModel: 'm',
      iterations: 3,
      gamesPerIteration: 10,
      hook: 'h',
      view: 'answerer',
      role: 'answerer',
      evalSet: 'e',
      dataset: 'd',
      format: 'openai',
      outDir: '/a',
      candidates: 4,
      maxTurns: 10,
      seed: 1,
    };
    // The id an older loop (before these options existed) was stored under.
    expect(loopIdOf({ ...spec, trainOn: 'current' })).toBe(loopIdOf(spec));
    expect(loopIdOf({ ...spec, trainOn: 'all' })).not.toBe(loopIdOf(spec));
    expect(loopIdOf({ ...spec, playModelSuffix: '@t=1' })).not.toBe(loopIdOf(spec));
    expect(loopIdOf({ ...spec, trainOn: 'all', playModelSuffix: '@t=1' })).not.toBe(loopIdOf({ ...spec, trainOn: 'all' }));
    // --include-failed (the control arm) is another loop; left out at its default, old loop ids stay.
    expect(loopIdOf({ ...spec, includeFailed: false })).toBe(loopIdOf(spec));
    expect(loopIdOf({ ...spec, includeFailed: true })).not.toBe(loopIdOf(spec));
  });

  it('trains on the current iteration, or on every iteration so far with --train-on all', () => {
    expect(trainIterations('current', 2)).toEqual([2]);
    expect(trainIterations(undefined, 0)).toEqual([0]);
    expect(trainIterations('all', 0)).toEqual([0]);
    expect(trainIterations('all', 2)).toEqual([0, 1, 2]);
  });
});
