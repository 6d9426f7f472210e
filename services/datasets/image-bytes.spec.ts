import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BadInputError, isRetriable } from '../core/errors';
import { decodeDataUrl, loadImageBytes, sha256Hex, sniffImageMediaType, toDataUrl } from './image-bytes';
import { embedScene } from './png-text';
import { createRng } from './prng';
import { renderScenePng } from './render';
import { generateScene } from './scene-generator';

describe('loadImageBytes', () => {
  const scene = generateScene(createRng(9));
  const png = embedScene(renderScenePng(scene), scene);
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dg-image-bytes-'));
    file = path.join(dir, 'scene.png');
    await writeFile(file, png);
    await writeFile(path.join(dir, 'text.png'), 'not an image');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads file:// URIs, plain paths and data: URLs to the same bytes', async () => {
    for (const uri of [pathToFileURL(file).href, file, toDataUrl(png, 'image/png')]) {
      const loaded = await loadImageBytes(uri, { sha256: sha256Hex(png) });
      expect(loaded.bytes.equals(png)).toBe(true);
      expect(loaded.mediaType).toBe('image/png');
      expect(loaded.sha256).toBe(sha256Hex(png));
    }
  });

  it('fails non-retriably on a missing file, a non-image, a hash mismatch and a bad data URL', async () => {
    const cases: Array<[string, { sha256?: string }, RegExp]> = [
      [path.join(dir, 'missing.png'), {}, /cannot read image .*missing\.png: no such file/],
      [path.join(dir, 'text.png'), {}, /is not a PNG, JPEG, GIF or WebP file/],
      [file, { sha256: '0'.repeat(64) }, /does not match its sha256/],
      ['data:image/png;base64,%%%', {}, /invalid base64/],
      ['data:image/png;base64', {}, /missing ","/],
      ['ftp://example.org/x.png', {}, /unsupported image URI scheme/],
    ];
    for (const [uri, options, message] of cases) {
      const error = await loadImageBytes(uri, options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BadInputError);
      expect((error as Error).message).toMatch(message);
      expect(isRetriable(error)).toBe(false);
    }
  });

  it('sniffs media types from magic bytes', () => {
    expect(sniffImageMediaType(png)).toBe('image/png');
    expect(sniffImageMediaType(Buffer.from([0xff, 0xd8, 0xff, 0xdb]))).toBe('image/jpeg');
    expect(sniffImageMediaType(Buffer.from('RIFF\0\0\0\0WEBPVP8 ', 'latin1'))).toBe('image/webp');
    expect(sniffImageMediaType(Buffer.from('GIF87a', 'latin1'))).toBe('image/gif');
    expect(sniffImageMediaType(Buffer.from('hello'))).toBeUndefined();
  });

  it('decodes percent-encoded data URLs too', () => {
    expect(decodeDataUrl('data:text/plain,a%20b')).toEqual({ bytes: Buffer.from('a b'), mediaType: 'text/plain' });
  });
});
