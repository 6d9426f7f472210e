import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { Command } from 'commander';
import { loadConfigOrExit } from '../../core/config';
import { DgError } from '../../core/errors';
import { describeScene, ensureSyntheticDataset, generateSyntheticDataset, loadDataset, readSceneFromPng, SYNTHETIC_V1, type Dataset } from '../../datasets';

export interface DatasetCommandIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const defaultIo: DatasetCommandIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

function integerOption(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value.trim()) || Number(value) < min)
    throw new DgError(`${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`, { code: 'BAD_OPTION' });
  return Number(value);
}

function report(io: DatasetCommandIo, dataset: Dataset, where: string, json: boolean | undefined): void {
  if (json) return io.out(JSON.stringify({ name: dataset.name, path: where, images: dataset.images.length, problems: dataset.problems }));
  io.out(`${dataset.name}: ${dataset.images.length} images in ${where}`);
  for (const p of dataset.problems) io.out(`  skipped ${p.path}${p.line === undefined ? '' : ` (line ${p.line})`}: ${p.message}`);
}

/** Known failures print one line and exit 1; anything else is a bug and keeps its stack. */
async function guarded(io: DatasetCommandIo, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (!(err instanceof DgError) && !(err instanceof RangeError)) throw err;
    io.err(`dg dataset: ${err.message}`);
    process.exitCode = 1;
  }
}

export function datasetGenerate(opts: { out: string; count?: string; seed?: string; json?: boolean }, io: DatasetCommandIo = defaultIo): Promise<void> {
  return guarded(io, async () => {
    const out = path.resolve(opts.out);
    const count = integerOption('--count', opts.count, SYNTHETIC_V1.count, 1);
    const seed = integerOption('--seed', opts.seed, SYNTHETIC_V1.seed, Number.MIN_SAFE_INTEGER);
    report(io, await generateSyntheticDataset(out, { count, seed }), out, opts.json);
  });
}

export function datasetEnsure(opts: { json?: boolean }, io: DatasetCommandIo = defaultIo, datasetsDir = loadConfigOrExit().paths.datasetsDir): Promise<void> {
  return guarded(io, async () => {
    const dir = path.join(datasetsDir, SYNTHETIC_V1.name);
    report(io, await ensureSyntheticDataset(dir, SYNTHETIC_V1), dir, opts.json);
  });
}

export function datasetInfo(
  source: string,
  opts: { json?: boolean },
  io: DatasetCommandIo = defaultIo,
  datasetsDir = loadConfigOrExit().paths.datasetsDir,
): Promise<void> {
  return guarded(io, async () => {
    report(io, await loadDataset(source, { datasetsDir }), source, opts.json);
  });
}

export function datasetInspect(file: string, io: DatasetCommandIo = defaultIo): Promise<void> {
  return guarded(io, async () => {
    const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
      throw new DgError(`cannot read ${file}: ${err.code ?? err.message}`);
    });
    const scene = readSceneFromPng(bytes);
    io.out(describeScene(scene));
    io.out(JSON.stringify(scene, null, 2));
  });
}

/** `dg dataset generate | ensure | info | inspect`: the bundled synthetic scenes and user datasets. */
export function register(program: Command): void {
  const dataset = program.command('dataset').description('synthetic scene datasets and user datasets (a directory of images or a JSONL manifest)');

  dataset
    .command('generate')
    .description('write N distinct synthetic scene PNGs (scene JSON embedded in each) and a manifest.jsonl')
    .requiredOption('--out <dir>', 'output directory')
    .option('--count <n>', 'number of scenes', String(SYNTHETIC_V1.count))
    .option('--seed <s>', 'generator seed (same seed, same files)', String(SYNTHETIC_V1.seed))
    .option('--json', 'print JSON')
    .action((opts: { out: string; count?: string; seed?: string; json?: boolean }) => datasetGenerate(opts));

  dataset
    .command('ensure')
    .description(`generate the bundled ${SYNTHETIC_V1.name} dataset under DG_DATASETS_DIR unless it is already there`)
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => datasetEnsure(opts));

  dataset
    .command('info')
    .description(`load a dataset (${SYNTHETIC_V1.name}, a name under DG_DATASETS_DIR, a directory or a .jsonl manifest) and report what was skipped`)
    .argument('<dataset>', 'dataset name or path')
    .option('--json', 'print JSON')
    .action((source: string, opts: { json?: boolean }) => datasetInfo(source, opts));

  dataset
    .command('inspect')
    .description('print the scene embedded in a synthetic PNG')
    .argument('<png>', 'image file')
    .action((file: string) => datasetInspect(file));
}
