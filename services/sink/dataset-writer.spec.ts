import { mkdtemp, readFile, rm, utimes, writeFile, mkdir, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as fsPromises from 'node:fs/promises';
import { DatasetWriter, exampleLine, shardPath } from './dataset-writer';

// Pass-through, counted: the writer must not mkdir per write.
jest.mock('node:fs/promises', () => {
  const actual = jest.requireActual<typeof import('node:fs/promises')>('node:fs/promises');
  return { ...actual, mkdir: jest.fn(actual.mkdir) };
});

const line = (gameId: string): string => exampleLine(gameId, { messages: [], metadata: { game_id: gameId } });
const gameIds = async (path: string): Promise<string[]> =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { metadata: { game_id: string } }).metadata.game_id);

describe('DatasetWriter (on a temp directory)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dg-dataset-writer-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('sees what another instance appended since it last wrote the shard (A → B → A)', async () => {
    const a = new DatasetWriter(dir);
    const b = new DatasetWriter(dir);
    expect(await a.append(0, 1, 'g1', line('g1'))).toBe('written');
    expect(await b.append(0, 1, 'g2', line('g2'))).toBe('written');
    expect(await b.append(0, 1, 'g1', line('g1'))).toBe('duplicate');
    expect(await a.append(0, 1, 'g2', line('g2'))).toBe('duplicate');
    expect(await Promise.all([a.append(0, 1, 'g3', line('g3')), b.append(0, 1, 'g3', line('g3'))])).toEqual(expect.arrayContaining(['written', 'duplicate']));
    await Promise.all([a.close(), b.close()]);
    expect(await gameIds(shardPath(dir, 0, 1))).toEqual(['g1', 'g2', 'g3']);
  });

  it('writes a game once when it is queued twice in one batch', async () => {
    const a = new DatasetWriter(dir);
    const outcomes = await Promise.all([a.append(2, 0, 'g', line('g')), a.append(2, 0, 'g', line('g'))]);
    expect(outcomes.sort()).toEqual(['duplicate', 'written']);
    expect(await gameIds(shardPath(dir, 2, 0))).toEqual(['g']);
  });

  it('cuts a torn last line left by a crashed writer before appending', async () => {
    const path = shardPath(dir, 0, 0);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, `${line('g1')}\n{"messages":[],"meta`);
    const a = new DatasetWriter(dir);
    expect(await a.append(0, 0, 'g1', line('g1'))).toBe('duplicate');
    expect(await a.append(0, 0, 'g2', line('g2'))).toBe('written');
    expect(await gameIds(path)).toEqual(['g1', 'g2']);
  });

  it('creates a shard directory once, not per write, and again when it vanished', async () => {
    const mkdirSpy = jest.mocked(fsPromises.mkdir);
    mkdirSpy.mockClear();
    try {
      const a = new DatasetWriter(dir);
      for (const g of ['g1', 'g2', 'g3']) expect(await a.append(4, 2, g, line(g))).toBe('written');
      expect(mkdirSpy).toHaveBeenCalledTimes(1);
      await rm(join(dir, 'dataset'), { recursive: true, force: true });
      expect(await a.append(4, 2, 'g4', line('g4'))).toBe('written');
      expect(await a.append(4, 2, 'g1', line('g1'))).toBe('written');
      expect(mkdirSpy).toHaveBeenCalledTimes(2);
      expect(await gameIds(shardPath(dir, 4, 2))).toEqual(['g4', 'g1']);
      await a.close();
    } finally {
      mkdirSpy.mockClear();
    }
  });

  it('waits for a live lock holder and takes over a stale lock', async () => {
    const path = shardPath(dir, 0, 0);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(`${path}.lock`, 'someone');
    const patient = new DatasetWriter(dir, { staleLockMs: 60_000, lockTimeoutMs: 200 });
    await expect(patient.append(0, 0, 'g1', line('g1'))).rejects.toThrow(/stayed locked/);
    const old = new Date(Date.now() - 120_000);
    await utimes(`${path}.lock`, old, old);
    expect(await patient.append(0, 0, 'g1', line('g1'))).toBe('written');
    expect(await readdir(join(path, '..'))).toEqual(['part-000.jsonl']);
  });
});
