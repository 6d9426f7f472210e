import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MANIFEST_FILE } from './model';
import { outDirFor, parseServedName, resolveModelDir } from './models-dir';

let dir: string;
async function modelDir(rel: string, name: string): Promise<string> {
  const d = path.join(dir, rel);
  await mkdir(d, { recursive: true });
  await writeFile(path.join(d, MANIFEST_FILE), JSON.stringify({ name }));
  return d;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tiny-models-dir-'));
  await modelDir('models/tiny-m0', 'tiny-m0');
  await modelDir('models/renamed', 'tiny-m1');
  await mkdir(path.join(dir, 'models', 'half-written'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('tiny-vlm train --models-dir', () => {
  it('resolves --base as a directory, or as a model name in the models dir (by directory or by manifest name)', async () => {
    const models = path.join(dir, 'models');
    expect(await resolveModelDir(path.join(models, 'tiny-m0'))).toBe(path.join(models, 'tiny-m0'));
    expect(await resolveModelDir('tiny-m0', models)).toBe(path.join(models, 'tiny-m0'));
    expect(await resolveModelDir('tiny-m1', models)).toBe(path.join(models, 'renamed'));
  });

  it('names what it looked for and where when the base is not found', async () => {
    const models = path.join(dir, 'models');
    await expect(resolveModelDir('tiny-m9', models)).rejects.toThrow(`no model named "tiny-m9" in --models-dir ${models} (models there: tiny-m1, tiny-m0)`);
    await expect(resolveModelDir('tiny-m0')).rejects.toThrow(/--base tiny-m0 is not a model directory .*--models-dir/);
    await expect(resolveModelDir('x', path.join(dir, 'absent'))).rejects.toThrow(/--models-dir .*absent does not exist/);
  });

  it('writes the new model to --out, else to the models dir by name', () => {
    expect(outDirFor({ out: '/o', name: 'n', modelsDir: '/m' })).toBe('/o');
    expect(outDirFor({ name: 'tiny-m2', modelsDir: '/m' })).toBe(path.join('/m', 'tiny-m2'));
    expect(() => outDirFor({ modelsDir: '/m' })).toThrow(/give --out DIR, or --models-dir DIR with --name NAME/);
  });
});

describe('served model names', () => {
  it('reads NAME@t=X as the model NAME sampled at temperature X', () => {
    expect(parseServedName('tiny-m1')).toEqual({ name: 'tiny-m1' });
    expect(parseServedName('tiny-m1@t=1')).toEqual({ name: 'tiny-m1', temperature: 1 });
    expect(parseServedName('tiny-m1@t=0.7')).toEqual({ name: 'tiny-m1', temperature: 0.7 });
    expect(parseServedName('a@b@t=0')).toEqual({ name: 'a@b', temperature: 0 });
    expect(parseServedName('tiny@t=x')).toEqual({ name: 'tiny@t=x' });
    expect(() => parseServedName('tiny@t=3')).toThrow(/from 0 to 2/);
  });
});
