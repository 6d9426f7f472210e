import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { datasetGenerate, datasetInfo, datasetInspect, type DatasetCommandIo } from './dataset';

/** Runs one `dg dataset` action with its output captured (main.ts is not loaded: commander is ESM-only, jest is CommonJS). */
async function capture(run: (io: DatasetCommandIo) => Promise<void>): Promise<{ out: string; err: string; exitCode: number | undefined }> {
  let out = '';
  let err = '';
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await run({ out: (line) => (out += `${line}\n`), err: (line) => (err += `${line}\n`) });
    return { out, err, exitCode: process.exitCode as number | undefined };
  } finally {
    process.exitCode = before;
  }
}

describe('dg dataset', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dg-dataset-cli-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('generates a dataset, reports it and inspects one of its images', async () => {
    const out = path.join(dir, 'scenes');
    const generated = await capture((io) => datasetGenerate({ out, count: '6', seed: '4', json: true }, io));
    expect(generated.exitCode).toBeUndefined();
    expect(JSON.parse(generated.out.trim())).toEqual({ name: 'scenes', path: out, images: 6, problems: [] });
    expect((await readFile(path.join(out, 'manifest.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(6);

    const info = await capture((io) => datasetInfo(out, {}, io, dir));
    expect(info.out).toBe(`scenes: 6 images in ${out}\n`);

    const inspected = await capture((io) => datasetInspect(path.join(out, 'images', 'scene-00001.png'), io));
    expect(inspected.out).toMatch(/^(One|Two|Three|Four) objects? on an? \w+ background: /);
    expect(inspected.out).toContain('"version": 1');
  });

  it('fails with one line and exit code 1 on bad input', async () => {
    const badCount = await capture((io) => datasetGenerate({ out: dir, count: 'many' }, io));
    expect(badCount).toMatchObject({ exitCode: 1, err: 'dg dataset: --count must be an integer >= 1, got "many"\n' });
    await writeFile(path.join(dir, 'plain.png'), 'text');
    const notPng = await capture((io) => datasetInspect(path.join(dir, 'plain.png'), io));
    expect(notPng).toMatchObject({ exitCode: 1, err: 'dg dataset: not a PNG file (bad signature)\n' });
    const missing = await capture((io) => datasetInfo(path.join(dir, 'nowhere'), {}, io, dir));
    expect(missing.exitCode).toBe(1);
    expect(missing.err).toMatch(/dataset ".*nowhere" not found/);
  });
});
