import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { MANIFEST_FILE } from './model';

/**
 * Model names and directories for `dg tiny-vlm train --models-dir` and `serve`: a model given by
 * NAME is the directory under the models dir whose manifest carries that name (as `serve` serves
 * it), and a served name may carry a sampling suffix `NAME@t=X`.
 */

async function manifestName(dir: string): Promise<string | undefined> {
  try {
    const manifest = JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8')) as { name?: unknown };
    return typeof manifest.name === 'string' ? manifest.name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The model directory for `base`: a directory holding a manifest as given, else (with `modelsDir`)
 * the subdirectory whose manifest is named `base` (`modelsDir/base` first). The error names what
 * was looked for and where.
 */
export async function resolveModelDir(base: string, modelsDir?: string): Promise<string> {
  if (
    await stat(path.join(base, MANIFEST_FILE)).then(
      () => true,
      () => false,
    )
  )
    return path.resolve(base);
  if (!modelsDir)
    throw new Error(`tiny-vlm: --base ${base} is not a model directory (no ${MANIFEST_FILE}); give a directory, or a model name with --models-dir`);
  const direct = path.join(modelsDir, base);
  if ((await manifestName(direct)) === base) return path.resolve(direct);
  const entries = await readdir(modelsDir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new Error(`tiny-vlm: --models-dir ${modelsDir} does not exist`);
    throw err;
  });
  const names: string[] = [];
  for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const name = await manifestName(path.join(modelsDir, e.name));
    if (name === base) return path.resolve(modelsDir, e.name);
    if (name) names.push(name);
  }
  throw new Error(`tiny-vlm: no model named ${JSON.stringify(base)} in --models-dir ${modelsDir} (models there: ${names.join(', ') || 'none'})`);
}

/** Where `train` writes: --out as given, else `modelsDir/<name>`; one of them is required. */
export function outDirFor(options: { out?: string; name?: string; modelsDir?: string }): string {
  if (options.out) return options.out;
  if (options.modelsDir && options.name) return path.join(options.modelsDir, options.name);
  throw new Error('tiny-vlm train: give --out DIR, or --models-dir DIR with --name NAME');
}

/**
 * A served model name: `NAME` (temperature from the request) or `NAME@t=X` (sample at temperature X
 * whatever the request says; `@t=0` answers greedily). Used so one role configuration can play
 * training games sampled (`dg iterate --play-model-suffix @t=1`) and eval games greedily.
 */
export function parseServedName(requested: string): { name: string; temperature?: number } {
  const match = /^(.+)@t=([0-9]+(?:\.[0-9]+)?)$/.exec(requested);
  if (!match) return { name: requested };
  const temperature = Number(match[2]);
  if (!Number.isFinite(temperature) || temperature > 2) throw new Error(`model ${JSON.stringify(requested)}: @t= must be a temperature from 0 to 2`);
  return { name: match[1]!, temperature };
}
