import { PNG } from 'pngjs';
import { createRng } from './prng';
import { embedScene, readSceneFromPng } from './png-text';
import { renderScenePng } from './render';
import { COLUMNS, OBJECT_COLORS, ROWS, SHAPES, canonicalSceneKey, describeScene, sceneSchema, type Scene } from './scene';
import { generateDistinctScenes, generateScene } from './scene-generator';

describe('generateDistinctScenes', () => {
  const scenes = generateDistinctScenes(500, 1);

  it('is deterministic and prefix-stable', () => {
    expect(generateDistinctScenes(500, 1)).toEqual(scenes);
    expect(generateDistinctScenes(50, 1)).toEqual(scenes.slice(0, 50));
    expect(generateDistinctScenes(50, 2)).not.toEqual(scenes.slice(0, 50));
  });

  it('never repeats a scene (canonical form)', () => {
    expect(new Set(scenes.map(canonicalSceneKey)).size).toBe(scenes.length);
  });

  it('stays within bounds: 1–4 valid objects in distinct cells, centred in their cell', () => {
    for (const scene of scenes) {
      expect(sceneSchema.safeParse(scene).success).toBe(true);
      expect(scene.objects.length).toBeGreaterThanOrEqual(1);
      expect(scene.objects.length).toBeLessThanOrEqual(4);
      const cells = scene.objects.map((o) => `${o.row}/${o.column}`);
      expect(new Set(cells).size).toBe(cells.length);
      const cell = scene.width / 3;
      for (const o of scene.objects) {
        expect(Math.floor(o.x / cell)).toBe(COLUMNS.indexOf(o.column));
        expect(Math.floor(o.y / cell)).toBe(ROWS.indexOf(o.row));
      }
    }
  });

  it('uses the whole vocabulary', () => {
    const objects = scenes.flatMap((s) => s.objects);
    expect(new Set(objects.map((o) => o.color)).size).toBe(OBJECT_COLORS.length);
    expect(new Set(objects.map((o) => o.shape)).size).toBe(SHAPES.length);
    expect(new Set(objects.map((o) => o.size)).size).toBe(2);
    expect(new Set(objects.map((o) => `${o.row}/${o.column}`)).size).toBe(9);
    expect(new Set(scenes.map((s) => s.objects.length)).size).toBe(4);
    expect(new Set(scenes.map((s) => s.background)).size).toBeGreaterThan(1);
    expect(OBJECT_COLORS.length).toBeGreaterThanOrEqual(6);
  });
});

describe('canonicalSceneKey', () => {
  it('ignores pixel jitter and object order but not attributes', () => {
    const scene = generateScene(createRng(5));
    const jittered: Scene = { ...scene, objects: scene.objects.map((o) => ({ ...o, x: o.x + 1 })).reverse() };
    expect(canonicalSceneKey(jittered)).toBe(canonicalSceneKey(scene));
    const recoloured: Scene = { ...scene, objects: scene.objects.map((o, i) => (i === 0 ? { ...o, color: o.color === 'red' ? 'blue' : 'red' } : o)) };
    expect(canonicalSceneKey(recoloured)).not.toBe(canonicalSceneKey(scene));
  });
});

describe('describeScene', () => {
  it('lists every object in reading order with the background', () => {
    const scene: Scene = {
      version: 1,
      width: 144,
      height: 144,
      background: 'white',
      objects: [
        { color: 'blue', shape: 'star', size: 'small', x: 72, y: 72, column: 'center', row: 'middle' },
        { color: 'red', shape: 'circle', size: 'large', x: 24, y: 24, column: 'left', row: 'top' },
      ],
    };
    expect(describeScene(scene)).toBe('Two objects on a white background: a large red circle in the top left and a small blue star in the center.');
  });
});

describe('renderScenePng', () => {
  it('paints each object in its colour at its centre on the background colour', () => {
    const scene: Scene = {
      version: 1,
      width: 144,
      height: 144,
      background: 'black',
      objects: [
        { color: 'red', shape: 'star', size: 'large', x: 24, y: 24, column: 'left', row: 'top' },
        { color: 'yellow', shape: 'triangle', size: 'small', x: 120, y: 120, column: 'right', row: 'bottom' },
      ],
    };
    const bytes = embedScene(renderScenePng(scene), scene);
    expect(bytes.length).toBeLessThan(8_000);
    const png = PNG.sync.read(bytes);
    const at = (x: number, y: number) => Array.from(png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 3));
    expect(at(24, 25)).toEqual([220, 38, 38]);
    expect(at(120, 122)).toEqual([245, 208, 30]);
    expect(at(72, 72)).toEqual([18, 18, 18]);
    expect(readSceneFromPng(bytes)).toEqual(scene);
  });
});
