import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256Hex } from './image-bytes';
import { ManifestError, loadImageDirectory, loadJsonlManifest } from './loaders';
import { embedScene } from './png-text';
import { createRng } from './prng';
import { renderScenePng } from './render';
import { describeScene } from './scene';
import { generateScene } from './scene-generator';

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1]);
const GIF = Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1');

describe('dataset loaders', () => {
  let dir: string;
  const scene = generateScene(createRng(11));
  const scenePng = embedScene(renderScenePng(scene), scene);

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dg-datasets-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('loadImageDirectory', () => {
    it('loads images recursively with relative ids, hashes and captions, and reports bad files by path', async () => {
      await mkdir(path.join(dir, 'nested', 'deeper'), { recursive: true });
      await mkdir(path.join(dir, '.hidden'));
      await writeFile(path.join(dir, 'b-scene.png'), scenePng);
      await writeFile(path.join(dir, 'nested', 'a.JPG'), JPEG);
      await writeFile(path.join(dir, 'nested', 'deeper', 'c.gif'), GIF);
      await writeFile(path.join(dir, 'notes.txt'), 'ignored: not an image extension');
      await writeFile(path.join(dir, '.hidden', 'x.png'), scenePng);
      await writeFile(path.join(dir, 'broken.png'), 'this is text');
      await writeFile(path.join(dir, 'empty.webp'), '');
      await writeFile(path.join(dir, 'b-scene.webp'), JPEG); // same id as b-scene.png, sorts after it

      const dataset = await loadImageDirectory(dir);
      expect(dataset.name).toBe(path.basename(dir));
      expect(dataset.images.map((i) => i.id)).toEqual(['b-scene', 'nested/a', 'nested/deeper/c']);
      const [sceneImage, jpeg, gif] = dataset.images;
      expect(sceneImage).toMatchObject({
        uri: pathToFileURL(path.join(dir, 'b-scene.png')).href,
        sha256: sha256Hex(scenePng),
        mediaType: 'image/png',
        caption: describeScene(scene),
        attributes: scene,
      });
      expect(jpeg).toMatchObject({ mediaType: 'image/jpeg', caption: null });
      expect(gif?.mediaType).toBe('image/gif');
      expect(dataset.problems).toEqual([
        { path: path.join(dir, 'b-scene.webp'), message: expect.stringContaining('duplicate id "b-scene"') },
        { path: path.join(dir, 'broken.png'), message: 'not a PNG, JPEG, GIF or WebP file' },
        { path: path.join(dir, 'empty.webp'), message: 'empty file' },
      ]);
    });

    it('reports unreadable files instead of failing', async () => {
      if (process.getuid?.() === 0) return; // root reads everything: permission bits prove nothing here
      await writeFile(path.join(dir, 'locked.png'), scenePng);
      await chmod(path.join(dir, 'locked.png'), 0);
      const dataset = await loadImageDirectory(dir);
      expect(dataset.problems[0]).toMatchObject({ path: path.join(dir, 'locked.png'), message: expect.stringContaining('EACCES') });
    });

    it('fails clearly when the directory does not exist', async () => {
      await expect(loadImageDirectory(path.join(dir, 'missing'))).rejects.toThrow(/cannot read dataset directory .*missing/);
    });
  });

  describe('loadJsonlManifest', () => {
    it('resolves relative uris against the manifest folder, computes or checks hashes, keeps captions', async () => {
      await mkdir(path.join(dir, 'img'));
      await writeFile(path.join(dir, 'img', 'one.png'), scenePng);
      await writeFile(path.join(dir, 'two.jpg'), JPEG);
      const lines = [
        { id: 'one', uri: 'img/one.png' },
        { id: 'two', uri: pathToFileURL(path.join(dir, 'two.jpg')).href, sha256: sha256Hex(JPEG), caption: 'a photo', attributes: { source: 'camera' } },
        { id: 'remote', uri: 'https://example.org/x.png', sha256: 'a'.repeat(64), caption: null },
        { id: 'gone', uri: 'img/missing.png' },
        { id: 'tampered', uri: 'two.jpg', sha256: 'b'.repeat(64) },
      ];
      const manifest = path.join(dir, 'set.jsonl');
      await writeFile(manifest, lines.map((l) => JSON.stringify(l)).join('\n') + '\n\n');

      const dataset = await loadJsonlManifest(manifest);
      expect(dataset.name).toBe('set');
      expect(dataset.images).toEqual([
        {
          id: 'one',
          uri: pathToFileURL(path.join(dir, 'img', 'one.png')).href,
          sha256: sha256Hex(scenePng),
          mediaType: 'image/png',
          caption: describeScene(scene),
          attributes: scene,
        },
        {
          id: 'two',
          uri: pathToFileURL(path.join(dir, 'two.jpg')).href,
          sha256: sha256Hex(JPEG),
          mediaType: 'image/jpeg',
          caption: 'a photo',
          attributes: { source: 'camera' },
        },
        { id: 'remote', uri: 'https://example.org/x.png', sha256: 'a'.repeat(64), mediaType: 'image/png', caption: null },
      ]);
      expect(dataset.problems).toEqual([
        { path: path.join(dir, 'img', 'missing.png'), line: 4, message: 'unreadable: ENOENT' },
        { path: path.join(dir, 'two.jpg'), line: 5, message: expect.stringContaining('sha256 mismatch') },
      ]);
    });

    it('names every bad line with its line number', async () => {
      const manifest = path.join(dir, 'manifest.jsonl');
      await writeFile(
        manifest,
        [
          JSON.stringify({ id: 'ok', uri: 'a.png' }),
          '{"id": "broken",',
          JSON.stringify({ id: '', uri: 'b.png' }),
          JSON.stringify({ id: 'ok', uri: 'c.png' }),
          JSON.stringify({ id: 'h', uri: 'http://example.org/h.png' }),
          JSON.stringify({ id: 's', uri: 's.png', sha256: 'xyz' }),
        ].join('\n'),
      );
      const error = await loadJsonlManifest(manifest).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ManifestError);
      const problems = (error as ManifestError).problems;
      expect(problems.map((p) => p.line)).toEqual([2, 3, 4, 5, 6]);
      expect(problems[0]?.message).toMatch(/not valid JSON/);
      expect(problems[1]?.message).toMatch(/^id: /);
      expect(problems[2]?.message).toMatch(/duplicate id "ok" \(first on line 1\)/);
      expect(problems[3]?.message).toMatch(/sha256: required for http/);
      expect(problems[4]?.message).toMatch(/sha256: must be 64 hex/);
      expect((error as Error).message).toContain('line 3: id:');
      expect((error as ManifestError).retriable).toBe(false);
    });

    it('names the manifest folder as the dataset when the file is manifest.jsonl', async () => {
      await writeFile(path.join(dir, 'x.png'), scenePng);
      await writeFile(path.join(dir, 'manifest.jsonl'), JSON.stringify({ id: 'x', uri: 'x.png' }));
      expect((await loadJsonlManifest(path.join(dir, 'manifest.jsonl'))).name).toBe(path.basename(dir));
    });
  });
});
