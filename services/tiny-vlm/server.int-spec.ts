import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseAnswererOutput } from '../game/answerer-output';
import { embedScene } from '../datasets/png-text';
import { renderScenePng } from '../datasets/render';
import { generateDistinctScenes } from '../datasets/scene-generator';
import { buildVocabulary } from './features';
import { saveModel, TinyVlm } from './model';
import { startTinyVlmServer, type TinyVlmServer } from './server';

/** Requests shaped like buildAnswererMessages (services/game/messages.ts) in yesno mode. */
function answererMessages(imageUrl: string, history: Array<[string, string]>, question: string): unknown[] {
  const system =
    'You are the answerer in a cooperative image-identification game.\nRules:\n- Answer each question about your image only, truthfully. Reply with one JSON object and nothing else: {"answer": "yes"}, {"answer": "no"}, or {"answer": "unsure"} when the image does not let you tell.';
  const messages: unknown[] = [{ role: 'system', content: system }];
  let pending: unknown[] = [
    { type: 'text', text: 'This is your image.' },
    { type: 'image_url', image_url: { url: imageUrl } },
  ];
  for (const [q, a] of history) {
    pending.push({ type: 'text', text: `Question: ${q}` });
    messages.push({ role: 'user', content: pending }, { role: 'assistant', content: JSON.stringify({ answer: a }) });
    pending = [];
  }
  pending.push({ type: 'text', text: `Question: ${question}` });
  messages.push({ role: 'user', content: pending });
  return messages;
}

const QUESTIONS = [
  'Is there a red object?',
  'Is the background white?',
  'Are there exactly two objects?',
  'Is there a large circle in the top left?',
  'Is there a star?',
];
const scenes = generateDistinctScenes(4, 8, 144);

async function makeModel(dir: string, name: string, seed: number): Promise<void> {
  const model = await TinyVlm.create(buildVocabulary(QUESTIONS), seed);
  await saveModel(model, dir, {
    name,
    parent: null,
    seed,
    unsureMargin: 0,
    training: { data: null, dataSha256: null, examples: 0, skipped: {}, epochs: 0, learningRate: 0, batchSize: 0, millis: 0, losses: [] },
    metrics: {},
  });
  model.dispose();
}

async function chat(server: TinyVlmServer, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

let dir: string;
let server: TinyVlmServer;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tiny-vlm-serve-'));
  await makeModel(path.join(dir, 'models', 'tiny-a'), 'tiny-a', 1);
  server = await startTinyVlmServer({ modelsDir: path.join(dir, 'models'), port: 0 });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('dg tiny-vlm serve', () => {
  it('lists its models, labelled as a small trained model and not a simulator', async () => {
    const res = await fetch(`${server.baseUrl}/models`);
    const json = (await res.json()) as { data: Array<{ id: string; owned_by: string }> };
    expect(json.data.map((m) => m.id)).toEqual(['tiny-a']);
    expect(json.data[0]!.owned_by).toMatch(/small trained model .*not a simulator/);
    expect(server.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  });

  it('answers answerer requests in the JSON the answerer prompt asks for, with usage', async () => {
    const png = embedScene(renderScenePng(scenes[0]!), scenes[0]!);
    const url = `data:image/png;base64,${png.toString('base64')}`;
    const { status, json } = await chat(server, { model: 'tiny-a', messages: answererMessages(url, [['Is there a star?', 'no']], 'Is there a red object?') });
    expect(status).toBe(200);
    const content = json.choices[0].message.content as string;
    const parsed = parseAnswererOutput(content, 'yesno');
    expect(parsed.kind).toBe('answer');
    expect(['yes', 'no']).toContain((parsed as { text: string }).text);
    expect(JSON.parse(content)).toHaveProperty('answer');
    expect(json.usage.prompt_tokens).toBeGreaterThan(0);
    expect(json.usage.total_tokens).toBe(json.usage.prompt_tokens + json.usage.completion_tokens);
    expect(json.model).toBe('tiny-a');
  });

  it('never reads PNG text chunks: the same images with the metadata stripped get the same answers', async () => {
    for (const scene of scenes) {
      for (const question of QUESTIONS) {
        const withMeta = embedScene(renderScenePng(scene), scene);
        const stripped = renderScenePng(scene);
        const lying = embedScene(
          renderScenePng(scene),
          scenes.find((s) => s !== scene)!,
        );
        const answers = [];
        for (const png of [withMeta, stripped, lying]) {
          const { json } = await chat(server, { model: 'tiny-a', messages: answererMessages(`data:image/png;base64,${png.toString('base64')}`, [], question) });
          answers.push(json.choices[0].message.content);
        }
        expect(answers[1]).toEqual(answers[0]);
        expect(answers[2]).toEqual(answers[0]);
      }
    }
  });

  it('serves model directories that appear after start, by name, on the same endpoint', async () => {
    await makeModel(path.join(dir, 'staging'), 'tiny-b', 2);
    await cp(path.join(dir, 'staging'), path.join(dir, 'models', 'tiny-b'), { recursive: true });
    const png = renderScenePng(scenes[1]!);
    const { status, json } = await chat(server, {
      model: 'tiny-b',
      messages: answererMessages(`data:image/png;base64,${png.toString('base64')}`, [], 'Is there a star?'),
    });
    expect(status).toBe(200);
    expect(json.model).toBe('tiny-b');
    expect(server.models()).toEqual(['tiny-a', 'tiny-b']);
  });

  it('NAME@t=X samples at temperature X whatever the request says; NAME@t=0 and NAME with temperature 0 answer greedily', async () => {
    const greedy: string[] = [];
    const sampled: string[] = [];
    for (const scene of scenes) {
      const url = `data:image/png;base64,${renderScenePng(scene).toString('base64')}`;
      for (const question of QUESTIONS) {
        const plain = await chat(server, { model: 'tiny-a', temperature: 0, messages: answererMessages(url, [], question) });
        const atZero = await chat(server, { model: 'tiny-a@t=0', temperature: 1, messages: answererMessages(url, [], question) });
        expect(atZero.json.choices[0].message.content).toBe(plain.json.choices[0].message.content);
        greedy.push(plain.json.choices[0].message.content);
        // An untrained model is unsure (p(yes) near 0.5): sampling 3 times must leave the greedy answer at least once over 20 questions.
        for (let i = 0; i < 3; i++) {
          const s = await chat(server, { model: 'tiny-a@t=1', temperature: 0, messages: answererMessages(url, [], question) });
          expect(s.status).toBe(200);
          expect(s.json.model).toBe('tiny-a@t=1');
          sampled.push(s.json.choices[0].message.content);
        }
      }
    }
    expect(sampled.some((answer, i) => answer !== greedy[Math.floor(i / 3)])).toBe(true);
    // With the request's seed (the roles send one per turn) the sample is reproducible, and other seeds draw differently.
    const url = `data:image/png;base64,${renderScenePng(scenes[0]!).toString('base64')}`;
    const bySeed = async (seed: number): Promise<string[]> => {
      const out: string[] = [];
      for (const question of QUESTIONS)
        out.push((await chat(server, { model: 'tiny-a@t=1', seed, messages: answererMessages(url, [], question) })).json.choices[0].message.content);
      return out;
    };
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8];
    const first = await Promise.all(seeds.map(bySeed));
    expect(await Promise.all(seeds.map(bySeed))).toEqual(first);
    expect(new Set(first.map((a) => a.join('|'))).size).toBeGreaterThan(1);
    const bad = await chat(server, { model: 'tiny-a@t=9', messages: answererMessages('data:image/png;base64,AAAA', [], 'Is there a star?') });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/@t= must be a temperature from 0 to 2/);
  });

  it('bad requests get a clear OpenAI-style error naming what is wrong', async () => {
    const unknown = await chat(server, { model: 'nope', messages: answererMessages('data:image/png;base64,AAAA', [], 'Is there a star?') });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.message).toMatch(/model "nope" not found; serving tiny-a/);
    const noImage = await chat(server, { model: 'tiny-a', messages: [{ role: 'user', content: 'Is there a star?' }] });
    expect(noImage.status).toBe(400);
    expect(noImage.json.error.message).toMatch(/no image_url/);
    const remote = await chat(server, { model: 'tiny-a', messages: answererMessages('http://example.com/a.png', [], 'Is there a star?') });
    expect(remote.status).toBe(400);
    expect(remote.json.error.message).toMatch(/must be a data: URL/);
    const badPng = await chat(server, { model: 'tiny-a', messages: answererMessages('data:image/png;base64,AAAA', [], 'Is there a star?') });
    expect(badPng.status).toBe(400);
    expect(badPng.json.error.message).toMatch(/not a decodable PNG/);
  });
});
