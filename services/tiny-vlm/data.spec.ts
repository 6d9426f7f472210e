import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { embedScene } from '../datasets/png-text';
import { renderScenePng } from '../datasets/render';
import { generateDistinctScenes } from '../datasets/scene-generator';
import { readAnswererExport } from './data';
import { writeAnswererExport } from './export-writer';
import { imagePatches } from './features';

const FIXTURE = path.join(__dirname, 'fixtures', 'export');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tiny-vlm-data-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('reading the answerer export (dg export --view answerer --format openai)', () => {
  it('reads the contract fixture: data: URL and relative image paths, JSON and bare answers; unsure and unparseable counted, not used', async () => {
    const data = await readAnswererExport(FIXTURE);
    expect(data.games).toBe(2);
    expect(data.examples.map((e) => [e.question, e.label])).toEqual([
      ['Is the background gray?', true],
      ['Is there a red object?', false],
      ['Is there a large star?', true],
      ['Is there a small circle?', false],
    ]);
    expect(data.skipped).toEqual({ 'unsure answer': 1, 'unparseable answer': 1 });
    expect(data.sha256).toMatch(/^[0-9a-f]{64}$/);
    // The file itself gives the same result as its directory.
    expect((await readAnswererExport(path.join(FIXTURE, 'answerer.jsonl'))).examples).toHaveLength(4);
  });

  it('the same dialogs under other game ids and in another line order give the same examples, in the same order, and the same content hash', async () => {
    const copy = path.join(dir, 'reordered');
    await cp(FIXTURE, copy, { recursive: true });
    const file = path.join(copy, 'answerer.jsonl');
    const lines = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { metadata?: Record<string, unknown> });
    const renamed = lines.reverse().map((r, i) => JSON.stringify({ ...r, metadata: { ...(r.metadata ?? {}), game_id: `other-${i}` } }));
    await writeFile(file, `${renamed.join('\n')}\n`);
    const a = await readAnswererExport(FIXTURE, { canonicalOrder: true });
    const b = await readAnswererExport(copy, { canonicalOrder: true });
    expect(b.sha256).not.toBe(a.sha256);
    expect(b.contentSha256).toBe(a.contentSha256);
    expect(b.examples.map((e) => [e.question, e.label])).toEqual(a.examples.map((e) => [e.question, e.label]));
    // Without canonicalOrder the file order is kept (the in-process experiment's figures depend on it).
    const fileOrder = (await readAnswererExport(copy)).examples.map((e) => e.question);
    expect(fileOrder).not.toEqual(a.examples.map((e) => e.question));
    expect([...fileOrder].sort()).toEqual(a.examples.map((e) => e.question).sort());
    // Another dialog is another content hash.
    await writeFile(file, `${renamed.slice(1).join('\n')}\n`);
    expect((await readAnswererExport(copy)).contentSha256).not.toBe(a.contentSha256);
  });

  it('round-trips what the experiment writes, and names the line of a bad record', async () => {
    const [scene] = generateDistinctScenes(1, 3, 48);
    const png = embedScene(renderScenePng(scene!), scene!);
    const out = path.join(dir, 'export');
    await writeAnswererExport(out, [
      {
        gameId: 'g1',
        iteration: 1,
        verdict: 'success',
        kept: true,
        png,
        turns: [
          { question: 'Is there a circle?', answer: 'yes' },
          { question: 'Is the background white?', answer: 'no' },
        ],
      },
    ]);
    const data = await readAnswererExport(out);
    expect(data.examples.map((e) => [e.question, e.label])).toEqual([
      ['Is there a circle?', true],
      ['Is the background white?', false],
    ]);
    expect(data.examples[0]!.patches).toEqual(imagePatches(png));

    const bad = path.join(out, 'bad.jsonl');
    await writeFile(bad, `${(await import('node:fs')).readFileSync(path.join(out, 'answerer.jsonl'), 'utf8')}{not json\n`);
    await expect(readAnswererExport(bad)).rejects.toThrow(/bad\.jsonl:2 is not JSON/);
    await writeFile(
      bad,
      `${JSON.stringify({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/x.png' } }] }] })}\n`,
    );
    await expect(readAnswererExport(bad)).rejects.toThrow(/neither a data: URL nor a file path.*bad\.jsonl:1/);
    await expect(readAnswererExport(path.join(dir, 'nope'))).rejects.toThrow(/training data .*nope does not exist/);
  });
});
