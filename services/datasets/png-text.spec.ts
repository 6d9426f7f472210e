import { PNG } from 'pngjs';
import { deflateSync } from 'node:zlib';
import { BadInputError } from '../core/errors';
import { MissingSceneError, PngFormatError, SCENE_TEXT_KEYWORD, embedScene, insertPngText, isPng, readPngText, readSceneFromPng } from './png-text';
import { createRng } from './prng';
import { renderScenePng } from './render';
import { generateScene } from './scene-generator';

function tinyPng(): Buffer {
  const png = new PNG({ width: 2, height: 2 });
  png.data.fill(255);
  return PNG.sync.write(png);
}

/** A hand-built chunk, to test reading of chunk kinds this module never writes. */
function chunk(type: string, data: Buffer): Buffer {
  const { crc32 } = require('node:zlib') as typeof import('node:zlib');
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'latin1'), data])), 8 + data.length);
  return out;
}

function withChunkAfterIhdr(png: Buffer, extra: Buffer): Buffer {
  const afterIhdr = 8 + 12 + png.readUInt32BE(8);
  return Buffer.concat([png.subarray(0, afterIhdr), extra, png.subarray(afterIhdr)]);
}

describe('PNG text chunks', () => {
  it('round-trips UTF-8 text and leaves the image decodable', () => {
    const bytes = insertPngText(tinyPng(), 'Comment', 'héllo ✓');
    expect(readPngText(bytes).get('Comment')).toBe('héllo ✓');
    const decoded = PNG.sync.read(bytes);
    expect(decoded.width).toBe(2);
  });

  it('reads tEXt and zTXt chunks written by other tools', () => {
    let bytes = withChunkAfterIhdr(tinyPng(), chunk('tEXt', Buffer.from('Title\0plain', 'latin1')));
    bytes = withChunkAfterIhdr(bytes, chunk('zTXt', Buffer.concat([Buffer.from('Note\0\0', 'latin1'), deflateSync(Buffer.from('squeezed'))])));
    const text = readPngText(bytes);
    expect(text.get('Title')).toBe('plain');
    expect(text.get('Note')).toBe('squeezed');
  });

  it('rejects a non-PNG, a truncated PNG and a corrupted chunk with clear non-retriable errors', () => {
    expect(() => readPngText(Buffer.from('GIF89a not a png'))).toThrow(/not a PNG file/);
    const good = insertPngText(tinyPng(), 'k', 'v');
    expect(() => readPngText(good.subarray(0, good.length - 20))).toThrow(/truncated PNG/);
    const corrupt = Buffer.from(good);
    corrupt[44] = (corrupt[44] ?? 0) ^ 0xff; // inside the iTXt data (IHDR ends at byte 33)
    const err = (() => {
      try {
        readPngText(corrupt);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(PngFormatError);
    expect(err).toBeInstanceOf(BadInputError);
    expect((err as PngFormatError).retriable).toBe(false);
    expect((err as Error).message).toMatch(/CRC mismatch/);
    expect(isPng(good)).toBe(true);
  });

  it('refuses invalid keywords', () => {
    expect(() => insertPngText(tinyPng(), '', 'x')).toThrow(RangeError);
    expect(() => insertPngText(tinyPng(), 'x'.repeat(80), 'x')).toThrow(RangeError);
  });
});

describe('scene metadata', () => {
  it('round-trips a scene through the PNG bytes', () => {
    const scene = generateScene(createRng(3));
    expect(readSceneFromPng(embedScene(renderScenePng(scene), scene))).toEqual(scene);
  });

  it('says when a PNG carries no scene or an invalid one', () => {
    expect(() => readSceneFromPng(tinyPng())).toThrow(MissingSceneError);
    expect(() => readSceneFromPng(tinyPng())).toThrow(SCENE_TEXT_KEYWORD);
    const bad = insertPngText(
      tinyPng(),
      SCENE_TEXT_KEYWORD,
      JSON.stringify({ version: 1, width: 10, height: 10, background: 'white', objects: [{ color: 'teal' }] }),
    );
    expect(() => readSceneFromPng(bad)).toThrow(/objects\.0\.color/);
    expect(() => readSceneFromPng(insertPngText(tinyPng(), SCENE_TEXT_KEYWORD, '{nope'))).toThrow(/not JSON/);
  });
});
