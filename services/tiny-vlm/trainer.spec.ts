import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildVocabulary } from './features';
import { readManifest, saveModel, TinyVlm } from './model';
import { trainFromExport } from './trainer';

const FIXTURE = path.join(__dirname, 'fixtures', 'export');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tiny-vlm-train-'));
  const base = await TinyVlm.create(buildVocabulary(['Is there a red object?', 'Is the background gray?']), 5);
  await saveModel(base, path.join(dir, 'base'), {
    name: 'tiny-base',
    parent: null,
    seed: 5,
    unsureMargin: 0,
    training: { data: null, dataSha256: null, examples: 0, skipped: {}, epochs: 0, learningRate: 0, batchSize: 0, millis: 0, losses: [] },
    metrics: {},
  });
  base.dispose();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('dg tiny-vlm train (trainFromExport)', () => {
  it('records parent, training data hash and metrics, and gives the same weights for the same data and base', async () => {
    const a = await trainFromExport({ data: FIXTURE, base: path.join(dir, 'base'), out: path.join(dir, 'm1a'), name: 'tiny-m1' });
    const b = await trainFromExport({ data: path.join(FIXTURE, 'answerer.jsonl'), base: path.join(dir, 'base'), out: path.join(dir, 'm1b'), name: 'tiny-m1' });
    const sha = createHash('sha256')
      .update(await readFile(path.join(FIXTURE, 'answerer.jsonl')))
      .digest('hex');
    expect(a).toMatchObject({
      name: 'tiny-m1',
      parent: 'tiny-base',
      training: { dataSha256: sha, examples: 4, skipped: { 'unsure answer': 1, 'unparseable answer': 1 } },
    });
    expect(a.metrics.trainAccuracy).toBeGreaterThanOrEqual(0);
    expect(b.weightsSha256).toBe(a.weightsSha256);
    expect((await readManifest(path.join(dir, 'm1a'))).weightsSha256).toBe(a.weightsSha256);
    // Another seed trains other weights.
    const c = await trainFromExport({ data: FIXTURE, base: path.join(dir, 'base'), out: path.join(dir, 'm1c'), seed: 99 });
    expect(c.weightsSha256).not.toBe(a.weightsSha256);
  });

  it('refuses an export without usable answers, naming the file', async () => {
    const { writeFile } = await import('node:fs/promises');
    const file = path.join(dir, 'empty.jsonl');
    await writeFile(file, '');
    await expect(trainFromExport({ data: file, base: path.join(dir, 'base'), out: path.join(dir, 'x') })).rejects.toThrow(
      /empty\.jsonl holds no usable yes\/no answers/,
    );
  });
});
