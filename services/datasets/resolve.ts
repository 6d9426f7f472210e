import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import { BadInputError } from '../core/errors';
import type { Dataset } from './dataset';
import { MANIFEST_FILE, loadImageDirectory, loadJsonlManifest } from './loaders';
import { SYNTHETIC_V1, ensureSyntheticDataset } from './synthetic';

export interface ResolveDatasetOptions {
  /** Where named datasets live (DG_DATASETS_DIR); the bundled one is generated here on demand. */
  datasetsDir: string;
}

async function kindOf(p: string): Promise<'file' | 'dir' | undefined> {
  try {
    const s = await stat(p);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A dataset by name or path: `synthetic-v1` (the bundled one, generated on first use), a *.jsonl
 * manifest, a directory holding manifest.jsonl, a directory of images, or the name of one of
 * those under `datasetsDir`.
 */
export async function loadDataset(source: string, options: ResolveDatasetOptions): Promise<Dataset> {
  if (source === SYNTHETIC_V1.name) return ensureSyntheticDataset(path.join(options.datasetsDir, SYNTHETIC_V1.name), SYNTHETIC_V1);
  const looksLikeName = !source.includes('/') && !source.includes(path.sep) && !source.startsWith('.');
  const candidates = looksLikeName ? [path.join(options.datasetsDir, source), path.resolve(source)] : [path.resolve(source)];
  for (const candidate of candidates) {
    const kind = await kindOf(candidate);
    if (kind === 'file') return loadJsonlManifest(candidate);
    if (kind === 'dir') {
      if ((await kindOf(path.join(candidate, MANIFEST_FILE))) === 'file')
        return loadJsonlManifest(path.join(candidate, MANIFEST_FILE), path.basename(candidate));
      return loadImageDirectory(candidate);
    }
  }
  throw new BadInputError(
    `dataset "${source}" not found (looked in ${candidates.join(', ')}); use ${SYNTHETIC_V1.name}, a directory of images or a JSONL manifest`,
    { code: 'BAD_DATASET' },
  );
}
