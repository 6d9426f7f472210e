import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createRng } from '../datasets/prng';
import { renderScenePng } from '../datasets/render';
import { generateDistinctScenes } from '../datasets/scene-generator';
import { evaluatePredicate } from '../sim-vlm/scene-reasoning';
import { buildVocabulary, FEATURE_DIM, imagePatches } from './features';
import { loadModel, MANIFEST_FILE, saveModel, TinyVlm, WEIGHTS_FILE, type Example } from './model';
import { initTf, tf } from './tf';

const scenes = generateDistinctScenes(12, 5, 48);
const patches = scenes.map((s) => imagePatches(renderScenePng(s)));
const questions = ['Is the background white?', 'Is the background black?', 'Is there a red object?', 'Is there a circle?'];
const predicates = [
  { kind: 'background', color: 'white' },
  { kind: 'background', color: 'black' },
  { kind: 'exists', desc: { color: 'red' } },
  { kind: 'exists', desc: { shape: 'circle' } },
] as const;
const examples: Example[] = scenes.flatMap((s, i) =>
  questions.map((question, q) => ({ patches: patches[i]!, question, label: evaluatePredicate(s, predicates[q]!) })),
);
const vocabulary = buildVocabulary(questions);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tiny-vlm-model-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('TinyVlm', () => {
  it('runs on the tfjs wasm backend (nothing fetched: the .wasm ships in the npm package)', async () => {
    expect(await initTf()).toBe('wasm');
  });

  it('forward pass maps a batch of images and questions to one logit each', async () => {
    const model = await TinyVlm.create(vocabulary, 1);
    const batch = examples.slice(0, 5);
    const p = tf.tensor2d(Float32Array.from(batch.flatMap((e) => [...e.patches])), [5, FEATURE_DIM]);
    const q = tf.tensor2d(new Float32Array(5 * (vocabulary.length + 16)), [5, vocabulary.length + 16]);
    const out = model.forward(p, q);
    expect(out.shape).toEqual([5]);
    expect([...out.dataSync()].every(Number.isFinite)).toBe(true);
    const probs = model.predict(batch);
    expect(probs).toHaveLength(5);
    for (const pr of probs) (expect(pr).toBeGreaterThan(0), expect(pr).toBeLessThan(1));
    tf.dispose([p, q, out]);
    model.dispose();
  });

  it('the same seed gives the same weights; another seed other weights', async () => {
    const [a, b, c] = await Promise.all([TinyVlm.create(vocabulary, 3), TinyVlm.create(vocabulary, 3), TinyVlm.create(vocabulary, 4)]);
    expect(a.predict(examples)).toEqual(b.predict(examples));
    expect(a.predict(examples)).not.toEqual(c.predict(examples));
    [a, b, c].forEach((m) => m.dispose());
  });

  it('training reduces the loss on a tiny set, reproducibly', async () => {
    const runs = [];
    for (let r = 0; r < 2; r++) {
      const model = await TinyVlm.create(vocabulary, 2);
      const before = model.loss(examples);
      const result = model.train(examples, { epochs: 25, batchSize: 16, learningRate: 0.01, seed: 9 });
      const after = model.loss(examples);
      runs.push({ before, after, losses: result.losses });
      model.dispose();
    }
    expect(runs[0]!.after).toBeLessThan(runs[0]!.before * 0.8);
    expect(runs[0]!.losses[runs[0]!.losses.length - 1]).toBeLessThan(runs[0]!.losses[0]!);
    expect(runs[1]!.losses).toEqual(runs[0]!.losses);
  });

  it('a model directory round-trips: same weights, same answers, manifest fields kept', async () => {
    const model = await TinyVlm.create(vocabulary, 6);
    model.train(examples.slice(0, 20), { epochs: 2, batchSize: 8, learningRate: 0.01, seed: 1 });
    const out = path.join(dir, 'm1');
    const saved = await saveModel(model, out, {
      name: 'm1',
      parent: 'm0',
      seed: 6,
      unsureMargin: 0,
      training: { data: 'x', dataSha256: 'abc', examples: 20, skipped: {}, epochs: 2, learningRate: 0.01, batchSize: 8, millis: 1, losses: [1] },
      metrics: { heldOutAccuracy: 0.5 },
    });
    const { model: loaded, manifest } = await loadModel(out);
    expect(loaded.predict(examples)).toEqual(model.predict(examples));
    expect(manifest).toMatchObject({
      name: 'm1',
      parent: 'm0',
      architecture: saved.architecture,
      training: { dataSha256: 'abc' },
      metrics: { heldOutAccuracy: 0.5 },
    });
    expect(manifest.kind).toMatch(/not a simulator/);
    // A corrupted weights file is refused by name.
    const bytes = await readFile(path.join(out, WEIGHTS_FILE));
    bytes[10] = (bytes[10]! + 1) % 256;
    await writeFile(path.join(out, WEIGHTS_FILE), bytes);
    await expect(loadModel(out)).rejects.toThrow(/weights\.bin does not match its manifest/);
    await expect(loadModel(path.join(dir, 'missing'))).rejects.toThrow(new RegExp(`cannot read model manifest .*missing/${MANIFEST_FILE}`));
    model.dispose();
    loaded.dispose();
  });

  it('labels seeded from a PRNG are learnable beyond chance (background colour from pixels)', async () => {
    const rng = createRng(1);
    const pool = generateDistinctScenes(60, 11, 48);
    const items: Example[] = pool.map((s) => {
      const color = rng.pick(['white', 'gray', 'black', 'beige'] as const);
      return { patches: imagePatches(renderScenePng(s)), question: `Is the background ${color}?`, label: s.background === color };
    });
    const model = await TinyVlm.create(buildVocabulary(items.map((e) => e.question)), 1);
    model.train(items, { epochs: 60, batchSize: 16, learningRate: 0.01, seed: 2 });
    const probs = model.predict(items);
    const correct = items.filter((e, i) => probs[i]! >= 0.5 === e.label).length;
    expect(correct / items.length).toBeGreaterThan(0.8);
    model.dispose();
  });
});
