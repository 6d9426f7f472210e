import { crc32, inflateSync } from 'node:zlib';
import { BadInputError } from '../core/errors';
import { sceneSchema, type Scene } from './scene';

/**
 * PNG text metadata (tEXt / iTXt / zTXt). pngjs does not write text chunks, so the chunk is spliced
 * into the encoded file here; the reader walks the chunk list itself and checks every CRC.
 */
export const SCENE_TEXT_KEYWORD = 'dialog-games:scene';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The bytes are not a PNG, are truncated, or a chunk is corrupt. */
export class PngFormatError extends BadInputError {
  constructor(message: string) {
    super(message, { code: 'BAD_PNG' });
  }
}

/** A valid PNG that carries no scene description (not one of our synthetic images). */
export class MissingSceneError extends BadInputError {
  constructor(message: string) {
    super(message, { code: 'NO_SCENE_METADATA' });
  }
}

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && Buffer.from(bytes.subarray(0, 8)).equals(PNG_SIGNATURE);
}

interface Chunk {
  type: string;
  data: Buffer;
  /** Offset of the chunk's length field. */
  offset: number;
}

function encodeChunk(type: string, data: Buffer): Buffer {
  const typeBytes = Buffer.from(type, 'latin1');
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  typeBytes.copy(out, 4);
  data.copy(out, 8);
  out.writeUInt32BE(crc32(Buffer.concat([typeBytes, data])), 8 + data.length);
  return out;
}

function readChunks(bytes: Uint8Array): Chunk[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!isPng(buf)) throw new PngFormatError('not a PNG file (bad signature)');
  const chunks: Chunk[] = [];
  let offset = 8;
  while (offset < buf.length) {
    if (offset + 12 > buf.length) throw new PngFormatError(`truncated PNG: incomplete chunk header at byte ${offset}`);
    const length = buf.readUInt32BE(offset);
    const end = offset + 12 + length;
    if (end > buf.length) throw new PngFormatError(`truncated PNG: chunk at byte ${offset} declares ${length} bytes past the end`);
    const type = buf.toString('latin1', offset + 4, offset + 8);
    if (!/^[A-Za-z]{4}$/.test(type)) throw new PngFormatError(`corrupt PNG: invalid chunk type at byte ${offset}`);
    const data = buf.subarray(offset + 8, offset + 8 + length);
    const expected = buf.readUInt32BE(offset + 8 + length);
    if (crc32(buf.subarray(offset + 4, offset + 8 + length)) !== expected) {
      throw new PngFormatError(`corrupt PNG: CRC mismatch in ${type} chunk at byte ${offset}`);
    }
    chunks.push({ type, data, offset });
    if (type === 'IEND') return chunks;
    offset = end;
  }
  throw new PngFormatError('truncated PNG: no IEND chunk');
}

function validKeyword(keyword: string): void {
  if (!/^[\x20-\x7e]{1,79}$/.test(keyword) || keyword.startsWith(' ') || keyword.endsWith(' ')) {
    throw new RangeError(`invalid PNG text keyword ${JSON.stringify(keyword)}`);
  }
}

/**
 * A copy of `png` with an uncompressed iTXt chunk (UTF-8 text) inserted right after IHDR, so that
 * readers find it without walking the image data.
 */
export function insertPngText(png: Uint8Array, keyword: string, text: string): Buffer {
  validKeyword(keyword);
  const chunks = readChunks(png);
  const ihdr = chunks[0];
  if (!ihdr || ihdr.type !== 'IHDR') throw new PngFormatError('corrupt PNG: first chunk is not IHDR');
  // keyword \0, compression flag 0, compression method 0, empty language tag \0, empty translated keyword \0, text
  const data = Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0, 0, 0, 0, 0]), Buffer.from(text, 'utf8')]);
  const insertAt = ihdr.offset + 12 + ihdr.data.length;
  const buf = Buffer.from(png);
  return Buffer.concat([buf.subarray(0, insertAt), encodeChunk('iTXt', data), buf.subarray(insertAt)]);
}

function decodeTextChunk(chunk: Chunk): { keyword: string; text: string } | undefined {
  const nul = chunk.data.indexOf(0);
  if (nul <= 0) throw new PngFormatError(`corrupt PNG: ${chunk.type} chunk without keyword`);
  const keyword = chunk.data.toString('latin1', 0, nul);
  const rest = chunk.data.subarray(nul + 1);
  try {
    switch (chunk.type) {
      case 'tEXt':
        return { keyword, text: rest.toString('latin1') };
      case 'zTXt':
        return { keyword, text: inflateSync(rest.subarray(1)).toString('latin1') };
      case 'iTXt': {
        const compressed = rest[0] === 1;
        const langEnd = rest.indexOf(0, 2);
        const translatedEnd = langEnd < 0 ? -1 : rest.indexOf(0, langEnd + 1);
        if (translatedEnd < 0) throw new PngFormatError('corrupt PNG: malformed iTXt chunk');
        const body = rest.subarray(translatedEnd + 1);
        return { keyword, text: (compressed ? inflateSync(body) : body).toString('utf8') };
      }
      default:
        return undefined;
    }
  } catch (err) {
    if (err instanceof PngFormatError) throw err;
    throw new PngFormatError(`corrupt PNG: cannot inflate ${chunk.type} chunk "${keyword}"`);
  }
}

/** Every text entry (tEXt, zTXt, iTXt) of a PNG, keyword → text (first one wins). */
export function readPngText(png: Uint8Array): Map<string, string> {
  const entries = new Map<string, string>();
  for (const chunk of readChunks(png)) {
    if (chunk.type !== 'tEXt' && chunk.type !== 'zTXt' && chunk.type !== 'iTXt') continue;
    const entry = decodeTextChunk(chunk);
    if (entry && !entries.has(entry.keyword)) entries.set(entry.keyword, entry.text);
  }
  return entries;
}

export function embedScene(png: Uint8Array, scene: Scene): Buffer {
  return insertPngText(png, SCENE_TEXT_KEYWORD, JSON.stringify(scene));
}

/** The scene embedded in a synthetic PNG. Throws PngFormatError or MissingSceneError (both non-retriable). */
export function readSceneFromPng(png: Uint8Array): Scene {
  const text = readPngText(png).get(SCENE_TEXT_KEYWORD);
  if (text === undefined) throw new MissingSceneError(`PNG has no "${SCENE_TEXT_KEYWORD}" text chunk`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new MissingSceneError(`"${SCENE_TEXT_KEYWORD}" text chunk is not JSON`);
  }
  const parsed = sceneSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new MissingSceneError(`"${SCENE_TEXT_KEYWORD}" text chunk is not a valid scene: ${issues}`);
  }
  return parsed.data;
}
