import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { createRng, type Rng } from '../datasets/prng';
import { encodeQuestion, FEATURE_DIM, OOV_BUCKETS, PATCH_DIM, PATCHES, SUBPATCH_DIM, SUBPATCHES } from './features';
import { initTf, tf } from './tf';

/**
 * TinyVLM: a small vision-language model that answers yes/no questions about one image.
 *
 *   patches [9 × 432] ─ MLP (shared per patch) ─ + position embedding ─→ f [9 × H]
 *   question words (multi-hot) ─→ q1 = relu(Q·Wq)   gate = Q·Wg   bias = Q·wb
 *   per-patch match  g_p = σ(f_p · gate + bias)        ("does this cell hold what the question names?")
 *   sum_p g, max_p g, mean_p f ⊙ q1, q1  ─ dense(relu) ─ dense ─→ logit of "yes"
 *
 * Only dense ops, so it trains on the tfjs wasm backend. Weights are plain named Float32 arrays,
 * initialised from a seeded PRNG (Glorot uniform), so a seed gives the same model on every run.
 */

export const ARCHITECTURE = 'tiny-vlm/subpatch-mlp-gated-v2';

export interface Hyper {
  sub: number;
  hidden1: number;
  hidden: number;
  head: number;
}

export const DEFAULT_HYPER: Hyper = { sub: 24, hidden1: 32, hidden: 32, head: 32 };

export interface WeightSpec {
  name: string;
  shape: number[];
}

export function weightSpecs(vocabSize: number, h: Hyper): WeightSpec[] {
  const v = vocabSize + OOV_BUCKETS;
  const fusion = h.hidden * 3 + 2;
  return [
    { name: 'sub/w1', shape: [SUBPATCH_DIM, h.sub] },
    { name: 'sub/b1', shape: [h.sub] },
    { name: 'sub/w2', shape: [h.sub, h.sub] },
    { name: 'sub/b2', shape: [h.sub] },
    { name: 'patch/w1', shape: [h.sub * 2, h.hidden1] },
    { name: 'patch/b1', shape: [h.hidden1] },
    { name: 'background/w', shape: [3, h.hidden] },
    { name: 'background/b', shape: [h.hidden] },
    { name: 'patch/w2', shape: [h.hidden1, h.hidden] },
    { name: 'patch/b2', shape: [h.hidden] },
    { name: 'patch/pos', shape: [PATCHES, h.hidden] },
    { name: 'question/wq', shape: [v, h.hidden] },
    { name: 'question/bq', shape: [h.hidden] },
    { name: 'question/wg', shape: [v, h.hidden] },
    { name: 'question/wb', shape: [v, 1] },
    { name: 'head/w1', shape: [fusion, h.head] },
    { name: 'head/b1', shape: [h.head] },
    { name: 'head/w2', shape: [h.head, 1] },
    { name: 'head/b2', shape: [1] },
  ];
}

function glorot(shape: number[], rng: Rng, name: string): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  if (shape.length === 1 || name.endsWith('/wb')) return out; // biases start at zero
  const fanIn = shape[0]!;
  const fanOut = shape[shape.length - 1]!;
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  for (let i = 0; i < size; i++) out[i] = (rng.next() * 2 - 1) * limit;
  return out;
}

export interface Example {
  patches: Float32Array;
  question: string;
  /** true = yes. */
  label: boolean;
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** L2 penalty on weights. */
  l2?: number;
}

export interface TrainResult {
  losses: number[];
  examples: number;
  millis: number;
}

let variableCounter = 0;

export class TinyVlm {
  readonly vocabulary: string[];
  readonly hyper: Hyper;
  private readonly weights: Map<string, tf.Variable>;

  private constructor(vocabulary: string[], hyper: Hyper, values: Map<string, Float32Array>) {
    this.vocabulary = vocabulary;
    this.hyper = hyper;
    this.weights = new Map();
    for (const spec of weightSpecs(vocabulary.length, hyper)) {
      const data = values.get(spec.name);
      const size = spec.shape.reduce((a, b) => a * b, 1);
      if (!data || data.length !== size)
        throw new Error(`tiny-vlm: weight ${spec.name} has ${data?.length ?? 'no'} values, expected ${size} (shape ${spec.shape.join('×')})`);
      this.weights.set(spec.name, tf.variable(tf.tensor(data, spec.shape), true, `tiny-vlm-${variableCounter++}-${spec.name}`));
    }
  }

  static async create(vocabulary: string[], seed: number, hyper: Hyper = DEFAULT_HYPER): Promise<TinyVlm> {
    await initTf();
    const rng = createRng(seed);
    const values = new Map<string, Float32Array>();
    for (const spec of weightSpecs(vocabulary.length, hyper)) values.set(spec.name, glorot(spec.shape, rng, spec.name));
    return new TinyVlm(vocabulary, hyper, values);
  }

  static async fromValues(vocabulary: string[], hyper: Hyper, values: Map<string, Float32Array>): Promise<TinyVlm> {
    await initTf();
    return new TinyVlm(vocabulary, hyper, values);
  }

  /** A deep copy (own variables). */
  async clone(): Promise<TinyVlm> {
    return TinyVlm.fromValues([...this.vocabulary], this.hyper, this.values());
  }

  values(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [name, v] of this.weights) out.set(name, v.dataSync() as Float32Array);
    return out;
  }

  dispose(): void {
    for (const v of this.weights.values()) v.dispose();
  }

  private w(name: string): tf.Variable {
    const v = this.weights.get(name);
    if (!v) throw new Error(`tiny-vlm: no weight ${name}`);
    return v;
  }

  /** Logits of "yes" [B] for pixel features [B, FEATURE_DIM] and questions [B, V]. */
  forward(features: tf.Tensor2D, questions: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const b = features.shape[0];
      const h = this.hyper;
      const dense = (x: tf.Tensor, w: string, bias: string): tf.Tensor => tf.relu(tf.add(tf.matMul(x as tf.Tensor2D, this.w(w)), this.w(bias)));
      const cells = tf.slice(features, [0, 0], [b, PATCHES * PATCH_DIM]).reshape([b * PATCHES * SUBPATCHES, SUBPATCH_DIM]);
      const s = dense(dense(cells, 'sub/w1', 'sub/b1'), 'sub/w2', 'sub/b2').reshape([b * PATCHES, SUBPATCHES, h.sub]);
      const pooled = tf.concat([tf.max(s, 1), tf.mean(s, 1)], 1); // [B*9, 2*sub]
      const f1 = dense(pooled, 'patch/w1', 'patch/b1');
      const f2 = dense(f1, 'patch/w2', 'patch/b2');
      const f = tf.add(f2.reshape([b, PATCHES, h.hidden]), this.w('patch/pos')); // [B,9,H]
      const bg = dense(tf.slice(features, [0, PATCHES * PATCH_DIM], [b, 3]), 'background/w', 'background/b'); // [B,H]
      const q1 = tf.relu(tf.add(tf.matMul(questions, this.w('question/wq')), this.w('question/bq'))); // [B,H]
      const gate = tf.matMul(questions, this.w('question/wg')); // [B,H]
      const bias = tf.matMul(questions, this.w('question/wb')); // [B,1]
      const match = tf.add(tf.sum(tf.mul(f, gate.reshape([b, 1, h.hidden])), 2), bias); // [B,9]
      const g = tf.sigmoid(match);
      const sumG = tf.sum(g, 1, true);
      const maxG = tf.max(g, 1, true);
      const fused = tf.concat([q1, tf.mul(tf.mean(f, 1), q1), tf.mul(bg, q1), sumG, maxG], 1);
      const hidden = dense(fused, 'head/w1', 'head/b1');
      return tf.add(tf.matMul(hidden as tf.Tensor2D, this.w('head/w2')), this.w('head/b2')).reshape([b]) as tf.Tensor1D;
    });
  }

  private batchTensors(items: ReadonlyArray<{ patches: Float32Array; question: string }>): { p: tf.Tensor2D; q: tf.Tensor2D } {
    const v = this.vocabulary.length + OOV_BUCKETS;
    const p = new Float32Array(items.length * FEATURE_DIM);
    const q = new Float32Array(items.length * v);
    items.forEach((item, i) => {
      p.set(item.patches, i * FEATURE_DIM);
      q.set(encodeQuestion(item.question, this.vocabulary), i * v);
    });
    return { p: tf.tensor2d(p, [items.length, FEATURE_DIM]), q: tf.tensor2d(q, [items.length, v]) };
  }

  /** Probability of "yes" per item. */
  predict(items: ReadonlyArray<{ patches: Float32Array; question: string }>, batchSize = 256): number[] {
    const out: number[] = [];
    for (let start = 0; start < items.length; start += batchSize) {
      const { p, q } = this.batchTensors(items.slice(start, start + batchSize));
      const probs = tf.tidy(() => tf.sigmoid(this.forward(p, q)));
      out.push(...(probs.dataSync() as Float32Array));
      tf.dispose([p, q, probs]);
    }
    return out;
  }

  /** Mean binary cross-entropy over `examples`. */
  loss(examples: readonly Example[]): number {
    if (examples.length === 0) return 0;
    const { p, q } = this.batchTensors(examples);
    const y = tf.tensor1d(examples.map((e) => (e.label ? 1 : 0)));
    const l = tf.tidy(() => tf.losses.sigmoidCrossEntropy(y, this.forward(p, q)));
    const value = l.dataSync()[0]!;
    tf.dispose([p, q, y, l]);
    return value;
  }

  /** Mini-batch Adam on `examples`, shuffled by a seeded PRNG; mean loss per epoch. */
  train(examples: readonly Example[], options: TrainOptions): TrainResult {
    const started = Date.now();
    const rng = createRng(options.seed);
    const optimizer = tf.train.adam(options.learningRate);
    const vars = [...this.weights.values()];
    const losses: number[] = [];
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const order = rng.shuffle(examples.map((_, i) => i));
      let total = 0;
      for (let start = 0; start < order.length; start += options.batchSize) {
        const batch = order.slice(start, start + options.batchSize).map((i) => examples[i]!);
        const { p, q } = this.batchTensors(batch);
        const y = tf.tensor1d(batch.map((e) => (e.label ? 1 : 0)));
        const cost = optimizer.minimize(
          () => {
            const base = tf.losses.sigmoidCrossEntropy(y, this.forward(p, q)) as tf.Scalar;
            if (!options.l2) return base;
            const penalty = tf.addN(vars.filter((v) => v.shape.length > 1).map((v) => tf.sum(tf.square(v))));
            return tf.add(base, tf.mul(penalty, options.l2)) as tf.Scalar;
          },
          true,
          vars,
        );
        total += cost!.dataSync()[0]! * batch.length;
        tf.dispose([p, q, y, cost!]);
      }
      losses.push(examples.length ? total / examples.length : 0);
    }
    optimizer.dispose();
    return { losses, examples: examples.length, millis: Date.now() - started };
  }
}

// ---------------------------------------------------------------------------------------------
// Model directories: manifest.json + weights.bin (float32 little-endian, in manifest weight order).

export const MANIFEST_FILE = 'manifest.json';
export const WEIGHTS_FILE = 'weights.bin';

export interface ModelManifest {
  format: 'dialog-games/tiny-vlm';
  name: string;
  architecture: string;
  /** Labelled so no one mistakes it: a small model trained here, not a simulator. */
  kind: 'small trained model (tfjs), not a simulator';
  parent: string | null;
  createdAt: string;
  seed: number;
  hyper: Hyper;
  vocabulary: string[];
  /** Answers "unsure" when P(yes) is within this distance of 0.5. */
  unsureMargin: number;
  weights: Array<WeightSpec & { offset: number }>;
  weightsSha256: string;
  training: {
    data: string | null;
    dataSha256: string | null;
    examples: number;
    skipped: Record<string, number>;
    epochs: number;
    learningRate: number;
    batchSize: number;
    millis: number;
    losses: number[];
  };
  metrics: Record<string, number>;
}

export type ManifestInput = Omit<ModelManifest, 'format' | 'architecture' | 'kind' | 'hyper' | 'vocabulary' | 'weights' | 'weightsSha256' | 'createdAt'>;

export async function saveModel(model: TinyVlm, dir: string, info: ManifestInput): Promise<ModelManifest> {
  await mkdir(dir, { recursive: true });
  const values = model.values();
  const specs = weightSpecs(model.vocabulary.length, model.hyper);
  const total = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  const buffer = Buffer.alloc(total * 4);
  let offset = 0;
  const weights: ModelManifest['weights'] = [];
  for (const spec of specs) {
    const data = values.get(spec.name)!;
    for (let i = 0; i < data.length; i++) buffer.writeFloatLE(data[i]!, (offset + i) * 4);
    weights.push({ ...spec, offset });
    offset += data.length;
  }
  const manifest: ModelManifest = {
    format: 'dialog-games/tiny-vlm',
    architecture: ARCHITECTURE,
    kind: 'small trained model (tfjs), not a simulator',
    createdAt: new Date().toISOString(),
    hyper: model.hyper,
    vocabulary: model.vocabulary,
    weights,
    weightsSha256: createHash('sha256').update(buffer).digest('hex'),
    ...info,
  };
  // Weights first, manifest last and by rename: a directory with a manifest is complete.
  await writeFile(path.join(dir, WEIGHTS_FILE), buffer);
  const tmp = path.join(dir, `.${MANIFEST_FILE}.tmp`);
  await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(tmp, path.join(dir, MANIFEST_FILE));
  return manifest;
}

export async function readManifest(dir: string): Promise<ModelManifest> {
  const file = path.join(dir, MANIFEST_FILE);
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(await readFile(file, 'utf8')) as ModelManifest;
  } catch (err) {
    throw new Error(`tiny-vlm: cannot read model manifest ${file}: ${(err as Error).message}`);
  }
  if (manifest.format !== 'dialog-games/tiny-vlm') throw new Error(`tiny-vlm: ${file} is not a tiny-vlm manifest (format ${JSON.stringify(manifest.format)})`);
  if (manifest.architecture !== ARCHITECTURE) throw new Error(`tiny-vlm: ${file} has architecture ${manifest.architecture}, this build runs ${ARCHITECTURE}`);
  return manifest;
}

export async function loadModel(dir: string): Promise<{ model: TinyVlm; manifest: ModelManifest }> {
  const manifest = await readManifest(dir);
  const buffer = await readFile(path.join(dir, WEIGHTS_FILE));
  const sha = createHash('sha256').update(buffer).digest('hex');
  if (sha !== manifest.weightsSha256)
    throw new Error(`tiny-vlm: ${path.join(dir, WEIGHTS_FILE)} does not match its manifest (sha256 ${sha}, manifest says ${manifest.weightsSha256})`);
  const values = new Map<string, Float32Array>();
  for (const spec of manifest.weights) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = buffer.readFloatLE((spec.offset + i) * 4);
    values.set(spec.name, data);
  }
  return { model: await TinyVlm.fromValues(manifest.vocabulary, manifest.hyper, values), manifest };
}
