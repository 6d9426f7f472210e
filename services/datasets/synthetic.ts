import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { RetriableError } from '../core/errors';
import type { Dataset } from './dataset';
import { sha256Hex } from './image-bytes';
import { MANIFEST_FILE, loadJsonlManifest } from './loaders';
import { embedScene } from './png-text';
import { renderScenePng } from './render';
import { describeScene } from './scene';
import { DEFAULT_SCENE_SIZE, generateDistinctScenes } from './scene-generator';

/** Bump when rendering or the scene model changes, so that bundled datasets regenerate. */
export const SYNTHETIC_GENERATOR_VERSION = 1;
export const DATASET_INFO_FILE = 'dataset.json';

/** The bundled default dataset. */
export const SYNTHETIC_V1 = { name: 'synthetic-v1', count: 500, seed: 1 } as const;

export interface SyntheticOptions {
  count: number;
  seed: number;
  name?: string;
  /** Image side in pixels. */
  side?: number;
}

interface DatasetInfo {
  name: string;
  generator: 'synthetic-scenes';
  generatorVersion: number;
  count: number;
  seed: number;
  side: number;
}

function datasetInfo(options: SyntheticOptions, dir: string): DatasetInfo {
  return {
    name: options.name ?? path.basename(dir),
    generator: 'synthetic-scenes',
    generatorVersion: SYNTHETIC_GENERATOR_VERSION,
    count: options.count,
    seed: options.seed,
    side: options.side ?? DEFAULT_SCENE_SIZE,
  };
}

function validateOptions(options: SyntheticOptions): void {
  if (!Number.isInteger(options.count) || options.count < 1) throw new RangeError(`count must be a positive integer, got ${options.count}`);
  if (!Number.isInteger(options.seed)) throw new RangeError(`seed must be an integer, got ${options.seed}`);
}

/**
 * Writes `count` distinct scene PNGs (scene JSON embedded in each) under `outDir/images`, a
 * manifest.jsonl (relative URIs, sha256, caption, attributes = scene) and dataset.json.
 * Same options, same bytes.
 */
export async function generateSyntheticDataset(outDir: string, options: SyntheticOptions): Promise<Dataset> {
  validateOptions(options);
  const info = datasetInfo(options, outDir);
  const scenes = generateDistinctScenes(options.count, options.seed, info.side);
  const digits = Math.max(5, String(options.count).length);
  await mkdir(path.join(outDir, 'images'), { recursive: true });
  const lines: string[] = [];
  for (let i = 0; i < scenes.length; i++) {
    const scene = scenes[i]!;
    const id = `scene-${String(i + 1).padStart(digits, '0')}`;
    const bytes = embedScene(renderScenePng(scene), scene);
    const relative = `images/${id}.png`;
    await writeFile(path.join(outDir, relative), bytes);
    lines.push(JSON.stringify({ id, uri: relative, sha256: sha256Hex(bytes), mediaType: 'image/png', caption: describeScene(scene), attributes: scene }));
  }
  await writeFile(path.join(outDir, MANIFEST_FILE), `${lines.join('\n')}\n`);
  await writeFile(path.join(outDir, DATASET_INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
  return loadJsonlManifest(path.join(outDir, MANIFEST_FILE), info.name);
}

async function readInfo(dir: string): Promise<DatasetInfo | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, DATASET_INFO_FILE), 'utf8')) as DatasetInfo;
  } catch {
    return undefined;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

function sameInfo(a: DatasetInfo | undefined, b: DatasetInfo): boolean {
  return (
    !!a &&
    a.name === b.name &&
    a.generator === b.generator &&
    a.generatorVersion === b.generatorVersion &&
    a.count === b.count &&
    a.seed === b.seed &&
    a.side === b.side
  );
}

async function loadIfComplete(dir: string, wanted: DatasetInfo): Promise<Dataset | undefined> {
  if (!sameInfo(await readInfo(dir), wanted)) return undefined;
  const dataset = await loadJsonlManifest(path.join(dir, MANIFEST_FILE), wanted.name).catch(() => undefined);
  return dataset && dataset.problems.length === 0 && dataset.images.length === wanted.count ? dataset : undefined;
}

const LOCK_STALE_MS = 10 * 60_000;

/**
 * Runs `fn` holding an exclusive lock: a directory created with mkdir, which is atomic. A lock
 * older than LOCK_STALE_MS is taken to be left over from a crashed process.
 */
async function withDirLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_STALE_MS;
  for (;;) {
    try {
      await mkdir(lockPath);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const since = await stat(lockPath).then(
        (s) => s.mtimeMs,
        () => undefined,
      );
      if (since !== undefined && Date.now() - since > LOCK_STALE_MS) {
        await rm(lockPath, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new RetriableError(`timed out waiting for ${lockPath}`, { code: 'DATASET_LOCK' });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { recursive: true, force: true });
  }
}

/**
 * The synthetic dataset in `dir`, generated only when missing, generated with other options, or
 * damaged (a listed image missing or changed). Generation holds a lock beside `dir` (concurrent
 * callers wait for the first one) and writes to a temp folder renamed into place, so an
 * interrupted run never leaves a half-written dataset.
 */
export async function ensureSyntheticDataset(dir: string, options: SyntheticOptions = SYNTHETIC_V1): Promise<Dataset> {
  validateOptions(options);
  const target = path.resolve(dir);
  const wanted = datasetInfo(options, target);
  const existing = await loadIfComplete(target, wanted);
  if (existing) return existing;
  await mkdir(path.dirname(target), { recursive: true });
  return withDirLock(`${target}.lock`, async () => {
    const ready = await loadIfComplete(target, wanted);
    if (ready) return ready;
    const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
    const temp = `${target}.tmp-${suffix}`;
    try {
      await generateSyntheticDataset(temp, { ...options, name: wanted.name });
      if (await exists(target)) {
        const old = `${target}.old-${suffix}`;
        await rename(target, old);
        await rm(old, { recursive: true, force: true });
      }
      await rename(temp, target);
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
    return loadJsonlManifest(path.join(target, MANIFEST_FILE), wanted.name);
  });
}
