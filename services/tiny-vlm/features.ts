import { PNG } from 'pngjs';

/**
 * What the model sees: the image's PIXELS (decoded by pngjs, which skips ancillary chunks such as
 * the tEXt chunk that carries the synthetic scene metadata; nothing here reads PNG text) and the
 * question's words.
 *
 * The image is box-filtered to GRID×CELL pixels per side and cut into GRID×GRID patches of CELL×CELL
 * RGB pixels (a 3×3 grid, matching how questions talk about positions: top/middle/bottom,
 * left/center/right).
 */

export const GRID = 3;
export const CELL = 12;
export const SIDE = GRID * CELL;
export const PATCHES = GRID * GRID;
/** Each cell is cut into SUB×SUB sub-patches of (CELL/SUB)² RGB pixels. */
export const SUB = 4;
export const SUB_PIXELS = CELL / SUB;
export const SUBPATCHES = SUB * SUB;
export const SUBPATCH_DIM = SUB_PIXELS * SUB_PIXELS * 3;
export const PATCH_DIM = SUBPATCHES * SUBPATCH_DIM;
/** Patches, then the background colour estimate (3 values). */
export const FEATURE_DIM = PATCHES * PATCH_DIM + 3;

/**
 * Pixel features [FEATURE_DIM]: for each of the 9 cells (row-major), its 16 sub-patches (row-major),
 * each 3×3 RGB pixels, as the difference from the image's background colour; then that background
 * colour (each channel in [-0.5, 0.5]). The background colour is the most frequent colour of the
 * downscaled image (a fixed normalisation step, not learned).
 */
export function imagePatches(pngBytes: Uint8Array): Float32Array {
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(pngBytes.buffer, pngBytes.byteOffset, pngBytes.byteLength));
  } catch (err) {
    throw new Error(`tiny-vlm: not a decodable PNG (${(err as Error).message})`);
  }
  const { width, height, data } = png;
  const sums = new Float64Array(SIDE * SIDE * 3);
  const counts = new Uint32Array(SIDE * SIDE);
  for (let y = 0; y < height; y++) {
    const ty = Math.min(SIDE - 1, Math.floor((y * SIDE) / height));
    for (let x = 0; x < width; x++) {
      const tx = Math.min(SIDE - 1, Math.floor((x * SIDE) / width));
      const src = (y * width + x) * 4;
      const alpha = data[src + 3]! / 255;
      const dst = ty * SIDE + tx;
      // Transparent pixels are read as white, as a viewer on a white page would show them.
      sums[dst * 3] += data[src]! * alpha + 255 * (1 - alpha);
      sums[dst * 3 + 1] += data[src + 1]! * alpha + 255 * (1 - alpha);
      sums[dst * 3 + 2] += data[src + 2]! * alpha + 255 * (1 - alpha);
      counts[dst]!++;
    }
  }
  const pixels = new Float32Array(SIDE * SIDE * 3);
  for (let i = 0; i < SIDE * SIDE; i++) for (let c = 0; c < 3; c++) pixels[i * 3 + c] = sums[i * 3 + c]! / (counts[i] || 1) / 255;
  // Most frequent colour, quantised to 16 levels per channel, averaged over its pixels.
  const votes = new Map<number, { n: number; r: number; g: number; b: number }>();
  for (let i = 0; i < SIDE * SIDE; i++) {
    const [r, g, b] = [pixels[i * 3]!, pixels[i * 3 + 1]!, pixels[i * 3 + 2]!];
    const key = (Math.floor(r * 15.99) << 8) | (Math.floor(g * 15.99) << 4) | Math.floor(b * 15.99);
    const v = votes.get(key) ?? { n: 0, r: 0, g: 0, b: 0 };
    v.n++;
    v.r += r;
    v.g += g;
    v.b += b;
    votes.set(key, v);
  }
  let best = { n: 0, r: 0, g: 0, b: 0 };
  for (const v of votes.values()) if (v.n > best.n) best = v;
  const background = [best.r / best.n, best.g / best.n, best.b / best.n];
  const out = new Float32Array(FEATURE_DIM);
  for (let ty = 0; ty < SIDE; ty++) {
    for (let tx = 0; tx < SIDE; tx++) {
      const cell = Math.floor(ty / CELL) * GRID + Math.floor(tx / CELL);
      const sub = Math.floor((ty % CELL) / SUB_PIXELS) * SUB + Math.floor((tx % CELL) / SUB_PIXELS);
      const inner = (ty % SUB_PIXELS) * SUB_PIXELS + (tx % SUB_PIXELS);
      const at = cell * PATCH_DIM + sub * SUBPATCH_DIM + inner * 3;
      for (let c = 0; c < 3; c++) out[at + c] = pixels[(ty * SIDE + tx) * 3 + c]! - background[c]!;
    }
  }
  for (let c = 0; c < 3; c++) out[PATCHES * PATCH_DIM + c] = background[c]! - 0.5;
  return out;
}

/** Lower-case words of a question ("colour" → "color", digits kept). */
export function questionWords(question: string): string[] {
  return question
    .toLowerCase()
    .replace(/colour/g, 'color')
    .replace(/centre/g, 'center')
    .replace(/grey/g, 'gray')
    .replace(/[^a-z0-9]+/g, ' ')
    .split(' ')
    .filter(Boolean);
}

/** Number of hashed buckets shared by words outside the vocabulary. */
export const OOV_BUCKETS = 16;

export function hashWord(word: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) {
    h ^= word.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % OOV_BUCKETS;
}

/** Vocabulary: known words first, then OOV_BUCKETS hashed buckets. */
export function encodeQuestion(question: string, vocabulary: readonly string[]): Float32Array {
  const index = new Map(vocabulary.map((w, i) => [w, i]));
  const out = new Float32Array(vocabulary.length + OOV_BUCKETS);
  for (const w of questionWords(question)) {
    const i = index.get(w);
    out[i ?? vocabulary.length + hashWord(w)] = 1;
  }
  return out;
}

/** Sorted distinct words of the questions: the vocabulary a base model is created with. */
export function buildVocabulary(questions: Iterable<string>): string[] {
  const words = new Set<string>();
  for (const q of questions) for (const w of questionWords(q)) words.add(w);
  return [...words].sort();
}
