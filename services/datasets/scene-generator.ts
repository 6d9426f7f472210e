import { createRng, type Rng } from './prng';
import {
  BACKGROUND_COLORS,
  COLUMNS,
  MAX_OBJECTS,
  OBJECT_COLORS,
  ROWS,
  SCENE_VERSION,
  SHAPES,
  SIZES,
  canonicalSceneKey,
  type Scene,
  type SceneObject,
  type Size,
} from './scene';

export const DEFAULT_SCENE_SIZE = 144;

/** Half-extent of a shape as a fraction of a grid cell's side. */
const RADIUS_FRACTION: Record<Size, number> = { large: 0.38, small: 0.21 };

export function shapeRadius(size: Size, cellSide: number): number {
  return RADIUS_FRACTION[size] * cellSide;
}

/** One random scene: 1–4 objects in distinct grid cells, centres jittered inside their cell. */
export function generateScene(rng: Rng, side = DEFAULT_SCENE_SIZE): Scene {
  const cell = side / 3;
  const count = rng.range(1, MAX_OBJECTS);
  const cells = rng.shuffle(ROWS.flatMap((row) => COLUMNS.map((column) => ({ row, column })))).slice(0, count);
  const objects: SceneObject[] = cells.map(({ row, column }) => {
    const size = rng.pick(SIZES);
    const slack = Math.max(0, Math.floor(cell / 2 - shapeRadius(size, cell) - 2));
    const cx = (COLUMNS.indexOf(column) + 0.5) * cell;
    const cy = (ROWS.indexOf(row) + 0.5) * cell;
    return {
      color: rng.pick(OBJECT_COLORS),
      shape: rng.pick(SHAPES),
      size,
      x: Math.round(cx + rng.range(-slack, slack)),
      y: Math.round(cy + rng.range(-slack, slack)),
      column,
      row,
    };
  });
  return { version: SCENE_VERSION, width: side, height: side, background: rng.pick(BACKGROUND_COLORS), objects };
}

/**
 * `count` pairwise-distinct scenes (by canonical key) from one seed; the same seed always gives
 * the same list, and a prefix of a longer list equals the shorter list.
 */
export function generateDistinctScenes(count: number, seed: number, side = DEFAULT_SCENE_SIZE): Scene[] {
  const rng = createRng(seed);
  const seen = new Set<string>();
  const scenes: Scene[] = [];
  let attempts = 0;
  while (scenes.length < count) {
    if (++attempts > count * 50 + 1000) {
      throw new RangeError(`could not generate ${count} distinct scenes (got ${scenes.length})`);
    }
    const scene = generateScene(rng, side);
    const key = canonicalSceneKey(scene);
    if (seen.has(key)) continue;
    seen.add(key);
    scenes.push(scene);
  }
  return scenes;
}
