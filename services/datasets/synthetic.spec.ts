import { readFile, readdir, rm, stat, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadImageBytes } from './image-bytes';
import { readSceneFromPng } from './png-text';
import { loadDataset } from './resolve';
import { canonicalSceneKey, sceneSchema } from './scene';
import { DATASET_INFO_FILE, ensureSyntheticDataset, generateSyntheticDataset } from './synthetic';

describe('synthetic datasets', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'dg-synthetic-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes N distinct PNGs whose embedded scenes match the manifest', async () => {
    const out = path.join(root, 'set');
    const dataset = await generateSyntheticDataset(out, { count: 30, seed: 5 });
    expect(dataset.images).toHaveLength(30);
    expect(dataset.problems).toEqual([]);
    const manifest = (await readFile(path.join(out, 'manifest.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { uri: string });
    expect(manifest[0]?.uri).toBe('images/scene-00001.png');
    const keys = new Set<string>();
    for (const image of dataset.images) {
      const { bytes } = await loadImageBytes(image.uri, { sha256: image.sha256 });
      const scene = readSceneFromPng(bytes);
      expect(image.attributes).toEqual(scene);
      expect(image.caption).toMatch(/background: /);
      keys.add(canonicalSceneKey(sceneSchema.parse(image.attributes)));
    }
    expect(keys.size).toBe(30);
  });

  it('is byte-for-byte reproducible from its seed', async () => {
    const a = await generateSyntheticDataset(path.join(root, 'a'), { count: 10, seed: 9 });
    const b = await generateSyntheticDataset(path.join(root, 'b'), { count: 10, seed: 9 });
    expect(a.images.map((i) => i.sha256)).toEqual(b.images.map((i) => i.sha256));
  });

  it('ensureSyntheticDataset generates once, then reuses; regenerates on other options or damage', async () => {
    const dir = path.join(root, 'synthetic-v1');
    const first = await ensureSyntheticDataset(dir, { count: 12, seed: 3 });
    const infoMtime = (await stat(path.join(dir, DATASET_INFO_FILE))).mtimeMs;
    const again = await ensureSyntheticDataset(dir, { count: 12, seed: 3 });
    expect(again).toEqual(first);
    expect((await stat(path.join(dir, DATASET_INFO_FILE))).mtimeMs).toBe(infoMtime);
    expect(first.name).toBe('synthetic-v1');

    const bigger = await ensureSyntheticDataset(dir, { count: 15, seed: 3 });
    expect(bigger.images).toHaveLength(15);
    expect(bigger.images.slice(0, 12)).toEqual(first.images);

    await writeFile(path.join(dir, 'images', 'scene-00002.png'), 'damaged');
    const repaired = await ensureSyntheticDataset(dir, { count: 15, seed: 3 });
    expect(repaired).toEqual(bigger);
    expect(await readdir(root)).toEqual(['synthetic-v1']);
  });

  it('survives concurrent callers', async () => {
    const dir = path.join(root, 'race');
    const results = await Promise.all([1, 2, 3].map(() => ensureSyntheticDataset(dir, { count: 8, seed: 1 })));
    for (const r of results) expect(r.images.map((i) => i.sha256)).toEqual(results[0]!.images.map((i) => i.sha256));
    expect(await readdir(root)).toEqual(['race']);
  });

  it('loadDataset finds datasets by name or path', async () => {
    await generateSyntheticDataset(path.join(root, 'mine'), { count: 4, seed: 2 });
    expect((await loadDataset('mine', { datasetsDir: root })).images).toHaveLength(4);
    expect((await loadDataset(path.join(root, 'mine', 'manifest.jsonl'), { datasetsDir: '/nonexistent' })).name).toBe('mine');
    expect((await loadDataset(path.join(root, 'mine', 'images'), { datasetsDir: root })).images).toHaveLength(4);
    await expect(loadDataset('nope', { datasetsDir: root })).rejects.toThrow(/dataset "nope" not found/);
  });
});
