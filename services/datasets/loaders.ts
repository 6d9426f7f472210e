import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { BadInputError } from '../core/errors';
import type { Dataset, DatasetImage, DatasetProblem } from './dataset';
import { IMAGE_EXTENSIONS, decodeDataUrl, localPathOf, sha256Hex, sniffImageMediaType } from './image-bytes';
import { readSceneFromPng } from './png-text';
import { describeScene } from './scene';

export const MANIFEST_FILE = 'manifest.jsonl';

const manifestLineSchema = z.object({
  id: z.string().min(1, 'must be a non-empty string'),
  uri: z.string().min(1, 'must be a non-empty string'),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters')
    .optional(),
  mediaType: z
    .string()
    .regex(/^image\/[\w.+-]+$/, 'must be an image/* media type')
    .optional(),
  caption: z.string().nullable().optional(),
  attributes: z.record(z.string(), z.unknown()).optional(),
});

export type ManifestLine = z.infer<typeof manifestLineSchema>;

/** A manifest that cannot be used at all: lists every bad line. */
export class ManifestError extends BadInputError {
  readonly problems: readonly DatasetProblem[];

  constructor(manifestPath: string, problems: DatasetProblem[]) {
    const listed = problems.map((p) => `  line ${p.line}: ${p.message}`).join('\n');
    super(`invalid dataset manifest ${manifestPath}:\n${listed}`, { code: 'BAD_MANIFEST' });
    this.problems = problems;
  }
}

/** Caption and attributes of a synthetic scene PNG; nothing for any other image. */
function sceneInfo(bytes: Buffer, mediaType: string): Pick<DatasetImage, 'caption' | 'attributes'> {
  if (mediaType !== 'image/png') return { caption: null };
  try {
    const scene = readSceneFromPng(bytes);
    return { caption: describeScene(scene), attributes: scene };
  } catch {
    return { caption: null };
  }
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

async function listImageFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (IMAGE_EXTENSIONS[path.extname(entry.name).toLowerCase()]) out.push(full);
    }
  };
  await walk(root);
  return out.sort();
}

/**
 * Every png/jpg/jpeg/webp/gif file under `dir` (recursively, sorted, hidden entries skipped).
 * id = path relative to `dir` without extension (POSIX separators). Unreadable, empty or non-image
 * files are listed in `problems` with their path and skipped.
 */
export async function loadImageDirectory(dir: string, name = path.basename(path.resolve(dir))): Promise<Dataset> {
  const root = path.resolve(dir);
  let files: string[];
  try {
    if (!(await stat(root)).isDirectory()) throw new BadInputError(`dataset path ${root} is not a directory`, { code: 'BAD_DATASET' });
    files = await listImageFiles(root);
  } catch (err) {
    if (err instanceof BadInputError) throw err;
    throw new BadInputError(`cannot read dataset directory ${root}: ${(err as Error).message}`, { cause: err, code: 'BAD_DATASET' });
  }
  const problems: DatasetProblem[] = [];
  const loaded = await mapLimited(files, 16, async (file): Promise<DatasetImage | undefined> => {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      problems.push({ path: file, message: `unreadable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      return undefined;
    }
    if (bytes.length === 0) {
      problems.push({ path: file, message: 'empty file' });
      return undefined;
    }
    const mediaType = sniffImageMediaType(bytes);
    if (!mediaType) {
      problems.push({ path: file, message: 'not a PNG, JPEG, GIF or WebP file' });
      return undefined;
    }
    const relative = path.relative(root, file).split(path.sep).join('/');
    const id = relative.slice(0, relative.length - path.extname(relative).length);
    return { id, uri: pathToFileURL(file).href, sha256: sha256Hex(bytes), mediaType, ...sceneInfo(bytes, mediaType) };
  });
  const images: DatasetImage[] = [];
  const ids = new Set<string>();
  for (const image of loaded) {
    if (!image) continue;
    if (ids.has(image.id)) {
      problems.push({ path: localPathOf(image.uri) ?? image.uri, message: `duplicate id "${image.id}" (same name, another extension)` });
      continue;
    }
    ids.add(image.id);
    images.push(image);
  }
  problems.sort((a, b) => a.path.localeCompare(b.path));
  return { name, images, problems };
}

function resolveManifestUri(uri: string, baseDir: string): string {
  if (/^(https?|data):/i.test(uri)) return uri;
  const local = localPathOf(uri.startsWith('file:') ? uri : path.resolve(baseDir, uri));
  if (local === undefined) return uri;
  return pathToFileURL(local).href;
}

/**
 * A JSONL manifest: one {id, uri, sha256?, mediaType?, caption?, attributes?} per line; relative
 * URIs resolve against the manifest's folder. Malformed lines or duplicate ids throw ManifestError
 * naming every bad line; local files that are missing or not images are skipped into `problems`.
 * sha256 is computed for local files when absent and checked when present; remote (http) images
 * must declare it, since loading a manifest never downloads anything.
 */
export async function loadJsonlManifest(manifestPath: string, name?: string): Promise<Dataset> {
  const file = path.resolve(manifestPath);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new BadInputError(`cannot read dataset manifest ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
      code: 'BAD_MANIFEST',
    });
  }
  const baseDir = path.dirname(file);
  const lineErrors: DatasetProblem[] = [];
  const entries: Array<{ line: number; entry: ManifestLine }> = [];
  const ids = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      lineErrors.push({ path: file, line, message: `not valid JSON (${(err as Error).message})` });
      return;
    }
    const parsed = manifestLineSchema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(line)'}: ${i.message}`).join('; ');
      lineErrors.push({ path: file, line, message: issues });
      return;
    }
    const firstLine = ids.get(parsed.data.id);
    if (firstLine !== undefined) {
      lineErrors.push({ path: file, line, message: `duplicate id "${parsed.data.id}" (first on line ${firstLine})` });
      return;
    }
    if (/^https?:/i.test(parsed.data.uri) && !parsed.data.sha256) {
      lineErrors.push({ path: file, line, message: 'sha256: required for http(s) uris (loading a manifest downloads nothing)' });
      return;
    }
    ids.set(parsed.data.id, line);
    entries.push({ line, entry: parsed.data });
  });
  if (lineErrors.length > 0) throw new ManifestError(file, lineErrors);

  const problems: DatasetProblem[] = [];
  const loaded = await mapLimited(entries, 16, async ({ line, entry }): Promise<DatasetImage | undefined> => {
    const uri = resolveManifestUri(entry.uri, baseDir);
    const base = { id: entry.id, uri, caption: entry.caption ?? null, ...(entry.attributes ? { attributes: entry.attributes } : {}) };
    if (/^https?:/i.test(uri)) {
      return { ...base, sha256: (entry.sha256 as string).toLowerCase(), mediaType: entry.mediaType ?? 'image/png' };
    }
    const where = uri.startsWith('data:') ? 'data: URL' : (localPathOf(uri) ?? uri);
    let bytes: Buffer;
    try {
      bytes = uri.startsWith('data:') ? decodeDataUrl(uri).bytes : await readFile(where);
    } catch (err) {
      problems.push({ path: where, line, message: `unreadable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      return undefined;
    }
    const mediaType = sniffImageMediaType(bytes);
    if (!mediaType) {
      problems.push({ path: where, line, message: bytes.length === 0 ? 'empty file' : 'not a PNG, JPEG, GIF or WebP file' });
      return undefined;
    }
    const sha256 = sha256Hex(bytes);
    if (entry.sha256 && entry.sha256.toLowerCase() !== sha256) {
      problems.push({ path: where, line, message: `sha256 mismatch (manifest ${entry.sha256}, file ${sha256})` });
      return undefined;
    }
    const scene = entry.caption === undefined || entry.attributes === undefined ? sceneInfo(bytes, mediaType) : { caption: null };
    return {
      ...base,
      sha256,
      mediaType,
      caption: entry.caption !== undefined ? entry.caption : scene.caption,
      ...(entry.attributes ? {} : scene.attributes ? { attributes: scene.attributes } : {}),
    };
  });
  const images = loaded.filter((image): image is DatasetImage => image !== undefined);
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const defaultName = path.basename(file, path.extname(file)) === 'manifest' ? path.basename(baseDir) : path.basename(file, path.extname(file));
  return { name: name ?? defaultName, images, problems };
}
