/**
 * Datasets: the bundled synthetic scenes (seeded generator, PNG renderer, scene JSON in an iTXt
 * chunk), loaders for a directory of images or a JSONL manifest, the image-bytes loader the roles
 * use, and the seeded candidate samplers.
 */
export * from './dataset';
export * from './image-bytes';
export * from './loaders';
export * from './png-text';
export * from './prng';
export * from './render';
export * from './resolve';
export * from './sampler';
export * from './scene';
export * from './scene-generator';
export * from './synthetic';
