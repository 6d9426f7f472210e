import { BadInputError } from '../core/errors';
import type { Dataset, DatasetImage } from './dataset';
import { createRng, type Rng } from './prng';
import { canonicalSceneKey, sceneSchema } from './scene';

export const MIN_CANDIDATES = 2;
export const MAX_CANDIDATES = 16;

export interface SampleOptions {
  numCandidates: number;
  seed: number | string;
  /** Sampler name from `samplers`; default 'random'. */
  sampler?: string;
}

export interface SampledGame {
  /** Candidates in the questioner's display order. */
  candidates: DatasetImage[];
  /** Index of the target in `candidates` (display order). */
  targetIndex: number;
  /** displayOrder[i] = draw position of candidates[i]; the draw puts the target first. */
  displayOrder: number[];
  sampler: string;
}

/**
 * A sampler draws the target and its distractors (target first, all distinct). Display shuffling
 * is common to every sampler and done by sampleGame.
 */
export type CandidateSampler = (images: readonly DatasetImage[], count: number, rng: Rng) => DatasetImage[];

/**
 * What makes two images the same for the game: identical bytes, or for synthetic scenes an identical
 * canonical scene (indistinguishable by any question). Two images sharing any key are duplicates.
 */
export function distinctnessKeys(image: DatasetImage): string[] {
  const keys = [`sha256:${image.sha256.toLowerCase()}`];
  const scene = image.attributes ? sceneSchema.safeParse(image.attributes) : undefined;
  if (scene?.success) keys.push(`scene:${canonicalSceneKey(scene.data)}`);
  return keys;
}

/** Uniform without replacement, skipping images that duplicate an already drawn one. */
const randomSampler: CandidateSampler = (images, count, rng) => {
  const picked: DatasetImage[] = [];
  const keys = new Set<string>();
  // Partial Fisher–Yates with a sparse swap map: O(draws) even on a very large dataset.
  const swapped = new Map<number, number>();
  const at = (i: number): number => swapped.get(i) ?? i;
  for (let i = 0; i < images.length && picked.length < count; i++) {
    const j = i + rng.int(images.length - i);
    const chosen = at(j);
    swapped.set(j, at(i));
    const image = images[chosen]!;
    const imageKeys = distinctnessKeys(image);
    if (imageKeys.some((k) => keys.has(k))) continue;
    for (const k of imageKeys) keys.add(k);
    picked.push(image);
  }
  return picked;
};

/** Registry of samplers by name; add one here to make it selectable with `--sampler`. */
export const samplers: Record<string, CandidateSampler> = {
  random: randomSampler,
};

/** Target + distractors drawn with `seed`, shown in a seeded shuffled order. */
export function sampleGame(dataset: Pick<Dataset, 'name' | 'images'>, options: SampleOptions): SampledGame {
  const { numCandidates } = options;
  const samplerName = options.sampler ?? 'random';
  const sampler = samplers[samplerName];
  if (!sampler) throw new BadInputError(`unknown sampler "${samplerName}" (known: ${Object.keys(samplers).join(', ')})`);
  if (!Number.isInteger(numCandidates) || numCandidates < MIN_CANDIDATES || numCandidates > MAX_CANDIDATES) {
    throw new BadInputError(`numCandidates must be an integer from ${MIN_CANDIDATES} to ${MAX_CANDIDATES}, got ${numCandidates}`);
  }
  const rng = createRng(options.seed);
  const drawn = sampler(dataset.images, numCandidates, rng);
  if (drawn.length < numCandidates) {
    throw new BadInputError(`dataset "${dataset.name}" has only ${drawn.length} distinct images, ${numCandidates} candidates requested`);
  }
  const displayOrder = rng.shuffle(drawn.map((_, i) => i));
  return {
    candidates: displayOrder.map((i) => drawn[i]!),
    targetIndex: displayOrder.indexOf(0),
    displayOrder,
    sampler: samplerName,
  };
}
