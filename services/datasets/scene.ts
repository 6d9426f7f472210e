import { z } from 'zod';

/**
 * The synthetic scene model: a few coloured shapes on a plain background, each in its own cell of a
 * coarse 3×3 grid so that position questions ("on the left?", "at the top?") have exact answers.
 * This description travels inside each PNG (see png-text.ts) and is what the simulated VLM "sees".
 */
export const OBJECT_COLORS = ['red', 'green', 'blue', 'yellow', 'purple', 'orange', 'pink', 'brown'] as const;
export const BACKGROUND_COLORS = ['white', 'gray', 'black', 'beige'] as const;
export const SHAPES = ['circle', 'square', 'triangle', 'star'] as const;
export const SIZES = ['small', 'large'] as const;
export const COLUMNS = ['left', 'center', 'right'] as const;
export const ROWS = ['top', 'middle', 'bottom'] as const;
export const MAX_OBJECTS = 4;
export const SCENE_VERSION = 1;

export type ObjectColor = (typeof OBJECT_COLORS)[number];
export type BackgroundColor = (typeof BACKGROUND_COLORS)[number];
export type Shape = (typeof SHAPES)[number];
export type Size = (typeof SIZES)[number];
export type Column = (typeof COLUMNS)[number];
export type Row = (typeof ROWS)[number];

export const sceneObjectSchema = z.object({
  color: z.enum(OBJECT_COLORS),
  shape: z.enum(SHAPES),
  size: z.enum(SIZES),
  /** Centre in pixels. */
  x: z.number(),
  y: z.number(),
  column: z.enum(COLUMNS),
  row: z.enum(ROWS),
});

export const sceneSchema = z.object({
  version: z.literal(SCENE_VERSION),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  background: z.enum(BACKGROUND_COLORS),
  objects: z.array(sceneObjectSchema).min(1).max(MAX_OBJECTS),
});

export type SceneObject = z.infer<typeof sceneObjectSchema>;
export type Scene = z.infer<typeof sceneSchema>;

/**
 * Identity of a scene as far as any question can tell: pixel jitter is left out, so two scenes with
 * the same key are indistinguishable to a questioner and must never be candidates of one game.
 */
export function canonicalSceneKey(scene: Scene): string {
  const objects = scene.objects
    .map((o) => `${o.row}-${o.column}:${o.size}-${o.color}-${o.shape}`)
    .sort()
    .join(',');
  return `${scene.background}|${objects}`;
}

const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

export function numberWord(n: number): string {
  return NUMBER_WORDS[n] ?? String(n);
}

export function withArticle(phrase: string): string {
  return /^[aeiou]/i.test(phrase) ? `an ${phrase}` : `a ${phrase}`;
}

/** "in the top left", "in the center", "in the bottom center", ... */
export function cellPhrase(row: Row, column: Column): string {
  if (row === 'middle' && column === 'center') return 'in the center';
  return `in the ${row} ${column}`;
}

export function objectPhrase(o: Pick<SceneObject, 'color' | 'shape' | 'size' | 'row' | 'column'>): string {
  return withArticle(`${o.size} ${o.color} ${o.shape} ${cellPhrase(o.row, o.column)}`);
}

/** Objects in reading order (top to bottom, left to right). */
export function objectsInReadingOrder(scene: Scene): SceneObject[] {
  return scene.objects.slice().sort((a, b) => ROWS.indexOf(a.row) - ROWS.indexOf(b.row) || COLUMNS.indexOf(a.column) - COLUMNS.indexOf(b.column));
}

/** A short natural description, also used as the dataset caption and the simulator's description. */
export function describeScene(scene: Scene): string {
  const objects = objectsInReadingOrder(scene).map(objectPhrase);
  const n = objects.length;
  const list = n === 1 ? objects[0] : `${objects.slice(0, -1).join(', ')} and ${objects[n - 1]}`;
  const head = `${numberWord(n)} ${n === 1 ? 'object' : 'objects'} on ${withArticle(scene.background)} background`;
  return `${head.charAt(0).toUpperCase()}${head.slice(1)}: ${list}.`;
}
