import * as path from 'node:path';
import { seedFrom } from '../datasets/prng';
import { BACKGROUND_COLORS, COLUMNS, OBJECT_COLORS, ROWS, SHAPES, SIZES } from '../datasets/scene';
import { readAnswererExport } from './data';
import { buildVocabulary } from './features';
import { loadModel, saveModel, TinyVlm, type Example, type ModelManifest } from './model';
import { DEFAULT_GAME_SETTINGS, FINETUNE_HYPER, INIT_HYPER, type TrainHyper } from './defaults';
import { accuracy, labelledQuestions, scenePools } from './play';

/**
 * `dg tiny-vlm init` and `dg tiny-vlm train` as functions: M_0 from a small ground-truth-labelled
 * seed set (standing in for a pretrained model's imperfect skill), and M_{k+1} fine-tuned from a
 * base model on an answerer-view export.
 */

/** Words a tokenizer knows from the start (the synthetic palette and quantity words). */
export const BASE_LEXICON: readonly string[] = [
  ...OBJECT_COLORS,
  ...BACKGROUND_COLORS,
  ...SHAPES,
  ...SHAPES.map((s) => `${s}s`),
  ...SIZES,
  ...COLUMNS,
  ...ROWS,
  'object',
  'objects',
  'background',
  'is',
  'are',
  'there',
  'a',
  'an',
  'the',
  'exactly',
  'at',
  'least',
  'most',
  'more',
  'fewer',
  'than',
  'one',
  'two',
  'three',
  'four',
  'in',
  'on',
  'yes',
  'no',
];

export { DEFAULT_GAME_SETTINGS, FINETUNE_HYPER, INIT_HYPER, type TrainHyper } from './defaults';

export interface InitOptions {
  seedExamples: number;
  seed: number;
  out: string;
  name?: string;
  hyper?: TrainHyper;
  /** Held-out questions for the manifest's metrics. */
  heldOut?: number;
}

export async function initBaseModel(options: InitOptions): Promise<ModelManifest> {
  const pools = scenePools(options.seed);
  const seedSet = labelledQuestions(pools.seed, options.seedExamples, DEFAULT_GAME_SETTINGS, seedFrom(options.seed, 'seed-set'));
  const heldOut = labelledQuestions(pools.eval, options.heldOut ?? 500, DEFAULT_GAME_SETTINGS, seedFrom(options.seed, 'held-out'));
  const vocabulary = buildVocabulary([...BASE_LEXICON, ...seedSet.map((e) => e.question)]);
  const model = await TinyVlm.create(vocabulary, seedFrom(options.seed, 'init'));
  const hyper = options.hyper ?? INIT_HYPER;
  const result = model.train(seedSet, { ...hyper, seed: seedFrom(options.seed, 'init-train') });
  const manifest = await saveModel(model, options.out, {
    name: options.name ?? path.basename(path.resolve(options.out)),
    parent: null,
    seed: options.seed,
    unsureMargin: 0,
    training: {
      data: `seed set: ${options.seedExamples} ground-truth-labelled questions on ${pools.seed.length} synthetic scenes (seed ${options.seed})`,
      dataSha256: null,
      examples: seedSet.length,
      skipped: {},
      ...hyper,
      millis: result.millis,
      losses: result.losses,
    },
    metrics: { heldOutAccuracy: accuracy(model, heldOut), trainAccuracy: accuracy(model, seedSet), heldOutQuestions: heldOut.length },
  });
  model.dispose();
  return manifest;
}

export interface TrainOptions {
  data: string;
  base: string;
  out: string;
  seed?: number;
  name?: string;
  hyper?: TrainHyper;
  /** Examples evaluated for the manifest's metrics (e.g. held-out questions); optional. */
  heldOut?: readonly Example[];
  /**
   * Train in dialog order with the seed from the dialogs' hash (not the file's), so exports of the
   * same dialogs under other game ids train the same model. `dg tiny-vlm train` sets it; the
   * in-process experiment does not (its recorded figures stay reproducible).
   */
  canonical?: boolean;
}

export async function trainFromExport(options: TrainOptions): Promise<ModelManifest> {
  const data = await readAnswererExport(options.data, { canonicalOrder: options.canonical === true });
  if (data.examples.length === 0) {
    throw new Error(`tiny-vlm: ${data.file} holds no usable yes/no answers (${data.games} games; skipped ${JSON.stringify(data.skipped)})`);
  }
  const { model, manifest: base } = await loadModel(options.base);
  const hyper = options.hyper ?? FINETUNE_HYPER;
  const seed = options.seed ?? seedFrom(base.seed, options.canonical ? data.contentSha256 : data.sha256);
  const result = model.train(data.examples, { ...hyper, seed });
  const metrics: Record<string, number> = { trainAccuracy: accuracy(model, data.examples), finalLoss: result.losses[result.losses.length - 1] ?? 0 };
  if (options.heldOut) metrics.heldOutAccuracy = accuracy(model, options.heldOut);
  const manifest = await saveModel(model, options.out, {
    name: options.name ?? path.basename(path.resolve(options.out)),
    parent: base.name,
    seed,
    unsureMargin: base.unsureMargin,
    training: {
      data: path.resolve(data.file),
      dataSha256: data.sha256,
      examples: data.examples.length,
      skipped: data.skipped,
      ...hyper,
      millis: result.millis,
      losses: result.losses,
    },
    metrics,
  });
  model.dispose();
  return manifest;
}
