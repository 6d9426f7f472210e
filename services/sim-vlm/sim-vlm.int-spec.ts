import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import OpenAI from 'openai';
import type { ChatCompletionContentPart, ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { toDataUrl } from '../datasets/image-bytes';
import { embedScene } from '../datasets/png-text';
import { createRng } from '../datasets/prng';
import { renderScenePng } from '../datasets/render';
import type { Scene } from '../datasets/scene';
import { generateDistinctScenes } from '../datasets/scene-generator';
import { SIMULATOR_NOTICE } from './behaviour';
import { startSimVlm, TOKENS_PER_IMAGE, type SimVlmServer } from './server';
import { clearSimulatorMemos } from './simulator';

/** The simulator over real HTTP on 127.0.0.1, called through the official openai client. */

const QUESTIONER_SYSTEM = 'You are the questioner in a cooperative image-identification game. Reply with {"question": "..."} or {"guess": <n>}.';
const ANSWERER_SYSTEM =
  'You are the answerer in a cooperative image-identification game. Reply with {"answer": "yes"}, {"answer": "no"}, or {"answer": "unsure"}.';

const scenes = generateDistinctScenes(80, 21);
const dataUrls = new Map<Scene, string>(scenes.map((scene) => [scene, toDataUrl(embedScene(renderScenePng(scene), scene), 'image/png')]));
const urlOf = (scene: Scene): string => dataUrls.get(scene)!;

function questionerMessages(candidates: Scene[], dialog: Array<{ question: string; answer: string }>, questionsLeft: number): ChatCompletionMessageParam[] {
  const intro: ChatCompletionContentPart[] = [{ type: 'text', text: `Here are the ${candidates.length} candidate images. One of them is the target.` }];
  candidates.forEach((scene, i) => intro.push({ type: 'text', text: `Image ${i + 1}:` }, { type: 'image_url', image_url: { url: urlOf(scene) } }));
  const messages: ChatCompletionMessageParam[] = [{ role: 'system', content: QUESTIONER_SYSTEM }];
  const status = (left: number): ChatCompletionContentPart => ({
    type: 'text',
    text: left > 0 ? `Questions left: ${left} of 10.` : 'Questions left: 0 of 10. You must guess now.',
  });
  let user: ChatCompletionContentPart[] = intro;
  dialog.forEach((step, i) => {
    messages.push({ role: 'user', content: [...user, status(10 - i)] }, { role: 'assistant', content: JSON.stringify({ question: step.question }) });
    user = [{ type: 'text', text: `Answer: ${step.answer}` }];
  });
  messages.push({ role: 'user', content: [...user, status(questionsLeft)] });
  return messages;
}

function answererMessages(target: Scene, questions: string[]): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = [{ role: 'system', content: ANSWERER_SYSTEM }];
  let user: ChatCompletionContentPart[] = [
    { type: 'text', text: 'This is your image.' },
    { type: 'image_url', image_url: { url: urlOf(target) } },
  ];
  questions.forEach((question, i) => {
    user.push({ type: 'text', text: `Question: ${question}` });
    messages.push({ role: 'user', content: user });
    if (i < questions.length - 1) messages.push({ role: 'assistant', content: '{"answer": "yes"}' });
    user = [];
  });
  return messages;
}

/** Body fields the simulator understands on top of OpenAI's. */
type SimParams = ChatCompletionCreateParamsNonStreaming & { sim_error_rate?: number; sim_latency_ms?: number; sim_failure_rate?: number };

describe('sim-vlm over HTTP with the openai client', () => {
  let server: SimVlmServer;
  let client: OpenAI;

  beforeAll(async () => {
    server = await startSimVlm({ port: 0 });
    client = new OpenAI({ baseURL: server.baseUrl, apiKey: 'sim-local', maxRetries: 0, timeout: 10_000 });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('binds to loopback and lists its models as simulators', async () => {
    expect(server.host).toBe('127.0.0.1');
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    expect(models.map((m) => m.id)).toEqual(['sim-vlm', 'sim-vlm-noisy']);
    for (const model of models) {
      expect(model.owned_by).toBe('dialog-games-simulator');
      expect((model as unknown as { description: string }).description).toBe(SIMULATOR_NOTICE);
      expect(SIMULATOR_NOTICE).toMatch(/^SIMULATOR/);
    }
    expect((await client.models.retrieve('sim-vlm@err=0.2')).id).toBe('sim-vlm@err=0.2');
    const health = await fetch(`${server.url}/healthz`);
    expect(await health.json()).toMatchObject({ status: 'ok', simulator: true });
  });

  it('answers as the answerer from the one image it gets, with token usage', async () => {
    const target = scenes[0]!;
    const first = target.objects[0]!;
    const completion = await client.chat.completions.create({
      model: 'sim-vlm',
      messages: answererMessages(target, [`Is there a ${first.color} ${first.shape}?`]),
      seed: 1,
    });
    expect(completion.object).toBe('chat.completion');
    expect(JSON.parse(completion.choices[0]!.message.content!)).toEqual({ answer: 'yes' });
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(TOKENS_PER_IMAGE);
    expect(completion.usage!.completion_tokens).toBeGreaterThan(0);
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens);
  });

  it('asks as the questioner, then guesses when it must', async () => {
    const candidates = scenes.slice(0, 4);
    const asked = await client.chat.completions.create({ model: 'sim-vlm', messages: questionerMessages(candidates, [], 10), seed: 3 });
    const question = JSON.parse(asked.choices[0]!.message.content!) as { question: string };
    expect(question.question).toMatch(/\?$/);
    expect(asked.usage!.prompt_tokens).toBeGreaterThan(4 * TOKENS_PER_IMAGE);
    const guessed = await client.chat.completions.create({
      model: 'sim-vlm',
      messages: questionerMessages(candidates, [{ question: question.question, answer: 'yes' }], 0),
      seed: 3,
    });
    const guess = JSON.parse(guessed.choices[0]!.message.content!) as { guess: number };
    expect(guess.guess).toBeGreaterThanOrEqual(1);
    expect(guess.guess).toBeLessThanOrEqual(4);
  });

  it('reads file:// image URLs and says unsure about images without scene metadata', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dg-sim-vlm-'));
    try {
      const target = scenes[1]!;
      const file = path.join(dir, 'scene.png');
      await writeFile(file, embedScene(renderScenePng(target), target));
      const messages = answererMessages(target, [`Is the background ${target.background}?`]);
      (messages[1]!.content as ChatCompletionContentPart[])[1] = { type: 'image_url', image_url: { url: pathToFileURL(file).href } };
      const viaFile = await client.chat.completions.create({ model: 'sim-vlm', messages });
      expect(viaFile.choices[0]!.message.content).toBe('{"answer":"yes"}');

      (messages[1]!.content as ChatCompletionContentPart[])[1] = { type: 'image_url', image_url: { url: toDataUrl(renderScenePng(target), 'image/png') } };
      const plain = await client.chat.completions.create({ model: 'sim-vlm', messages });
      expect(plain.choices[0]!.message.content).toBe('{"answer":"unsure"}');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is deterministic for a seed, noisy at the requested error rate', async () => {
    const target = scenes[2]!;
    const question = `Is the background ${target.background}?`;
    const ask = async (seed: number): Promise<string> => {
      const params: SimParams = { model: 'sim-vlm', messages: answererMessages(target, [question]), seed, sim_error_rate: 0.5 };
      return (await client.chat.completions.create(params)).choices[0]!.message.content!;
    };
    const answers = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map(ask));
    expect(await Promise.all([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map(ask))).toEqual(answers);
    expect(new Set(answers)).toEqual(new Set(['{"answer":"yes"}', '{"answer":"no"}']));
    const viaModelName = await Promise.all(
      [1, 2, 3, 4, 5, 6].map(
        async (seed) =>
          (await client.chat.completions.create({ model: 'sim-vlm@err=1', messages: answererMessages(target, [question]), seed })).choices[0]!.message.content,
      ),
    );
    expect(new Set(viaModelName)).toEqual(new Set(['{"answer":"no"}']));
  });

  it('adds the configured latency', async () => {
    const started = Date.now();
    const params: SimParams = { model: 'sim-vlm', messages: answererMessages(scenes[3]!, ['Is there a star?']), sim_latency_ms: 300 };
    await client.chat.completions.create(params);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('streams when asked to', async () => {
    const stream = await client.chat.completions.create({
      model: 'sim-vlm',
      messages: answererMessages(scenes[4]!, ['Describe the image.']),
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = '';
    let usage: unknown;
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(content).toMatch(/background: /);
    expect(usage).toMatchObject({ prompt_tokens: expect.any(Number) });
  });

  it('returns OpenAI-shaped errors: 404 unknown model, 400 bad request or image, 500 injected failure', async () => {
    const messages = answererMessages(scenes[5]!, ['Is there a star?']);
    const unknown = await client.chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect((unknown as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');

    const noMessages = await client.chat.completions.create({ model: 'sim-vlm', messages: [] }).catch((e: unknown) => e);
    expect(noMessages).toBeInstanceOf(OpenAI.BadRequestError);
    expect((noMessages as Error).message).toMatch(/messages/);

    const badImage = answererMessages(scenes[5]!, ['Is there a star?']);
    (badImage[1]!.content as ChatCompletionContentPart[])[1] = { type: 'image_url', image_url: { url: 'data:image/png;base64,bm90IGFuIGltYWdl' } };
    const invalid = await client.chat.completions.create({ model: 'sim-vlm', messages: badImage }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(OpenAI.BadRequestError);
    expect((invalid as Error).message).toMatch(/Invalid image/);

    const badRate: SimParams = { model: 'sim-vlm', messages, sim_error_rate: 3 };
    await expect(client.chat.completions.create(badRate)).rejects.toThrow(/sim_error_rate/);

    const failing: SimParams = { model: 'sim-vlm', messages, sim_failure_rate: 1 };
    const failed = await client.chat.completions.create(failing).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(OpenAI.InternalServerError);
    expect((failed as Error).message).toMatch(/Injected failure/);

    const route = await fetch(`${server.url}/v1/embeddings`, { method: 'POST', body: '{}' });
    expect(route.status).toBe(404);
    expect(await route.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'unknown_url' } });
    const notJson = await fetch(`${server.baseUrl}/chat/completions`, { method: 'POST', body: '{oops' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: { message: expect.stringMatching(/not valid JSON/) } });
  });

  it('judges request bodies as its schema does: clear 400s naming the field, valid odd bodies answered', async () => {
    const ask = [{ role: 'user', content: 'Is there a star?' }];
    const body = (fields: Record<string, unknown>): string => JSON.stringify({ model: 'sim-vlm', messages: ask, ...fields });
    const cases: Array<[string, string, string | null]> = [
      ['', 'Request body is empty: expected a JSON object.', null],
      ['  \n ', 'Request body is empty: expected a JSON object.', null],
      ['{oops', "Request body is not valid JSON: Expected property name or '}' in JSON at position 1 (line 1 column 2)", null],
      ['[]', "Invalid value for 'body': Invalid input: expected object, received array", null],
      ['null', "Invalid value for 'body': Invalid input: expected object, received null", null],
      [JSON.stringify({ messages: ask }), "Invalid value for 'model': Invalid input: expected string, received undefined", 'model'],
      [body({ model: '' }), "Invalid value for 'model': Too small: expected string to have >=1 characters", 'model'],
      [body({ messages: [] }), "Invalid value for 'messages': Too small: expected array to have >=1 items", 'messages'],
      [body({ messages: {} }), "Invalid value for 'messages': Invalid input: expected array, received object", 'messages'],
      [
        body({ messages: [{ role: 'robot', content: 'hi' }] }),
        'Invalid value for \'messages[0].role\': Invalid option: expected one of "system"|"developer"|"user"|"assistant"|"tool"',
        'messages[0].role',
      ],
      [body({ messages: ['hi'] }), "Invalid value for 'messages[0]': Invalid input: expected object, received string", 'messages[0]'],
      [body({ messages: [{ role: 'user', content: 5 }] }), "Invalid value for 'messages[0].content': Invalid input", 'messages[0].content'],
      [body({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] }), "Invalid value for 'messages[0].content': Invalid input", 'messages[0].content'],
      [body({ messages: [{ role: 'user', content: [null] }] }), "Invalid value for 'messages[0].content': Invalid input", 'messages[0].content'],
      [body({ seed: 1.5 }), "Invalid value for 'seed': Invalid input: expected int, received number", 'seed'],
      [body({ seed: 2 ** 60 }), "Invalid value for 'seed': Too big: expected int to be <=9007199254740991", 'seed'],
      [body({ stream: 'yes' }), "Invalid value for 'stream': Invalid input: expected boolean, received string", 'stream'],
      [body({ n: 2 }), "Invalid value for 'n': the simulator returns exactly one choice.", 'n'],
    ];
    for (const [text, message, param] of cases) {
      const response = await fetch(`${server.baseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
      expect([text, response.status, await response.json()]).toEqual([text, 400, { error: { message, type: 'invalid_request_error', param, code: null } }]);
    }
    const valid = [
      JSON.stringify({ model: 'sim-vlm', messages: [{ role: 'system', content: null }, { role: 'user' }, ...ask], seed: null, n: null, stream: null }),
      body({ seed: -3, n: 1, stream: false, extra: { a: 1 } }),
    ];
    for (const text of valid) {
      const response = await fetch(`${server.baseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
      expect([text, response.status]).toEqual([text, 200]);
      expect(((await response.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content).toBe('unsure');
    }
  });

  it('answers the same request the same way: twice, and on a new server with every memo cleared', async () => {
    const requests: SimParams[] = [
      { model: 'sim-vlm', messages: questionerMessages(scenes.slice(30, 35), [], 10), seed: 4 },
      { model: 'sim-vlm', messages: questionerMessages(scenes.slice(30, 35), [{ question: 'Is there a red object?', answer: 'no' }], 9), seed: 5 },
      { model: 'sim-vlm', messages: answererMessages(scenes[31]!, ['Is there a large object?']), seed: 6, sim_error_rate: 0.5 },
      { model: 'sim-vlm', messages: answererMessages(scenes[32]!, ['Describe the image.']), seed: 7 },
    ];
    const answers = async (on: OpenAI): Promise<unknown[]> =>
      Promise.all(
        requests.map(async (request) => {
          const completion = await on.chat.completions.create(request);
          return { content: completion.choices[0]!.message.content, usage: completion.usage };
        }),
      );
    const first = await answers(client);
    expect(await answers(client)).toEqual(first);
    clearSimulatorMemos();
    const fresh = await startSimVlm({ port: 0 });
    try {
      expect(await answers(new OpenAI({ baseURL: fresh.baseUrl, apiKey: 'sim-local', maxRetries: 0, timeout: 10_000 }))).toEqual(first);
    } finally {
      await fresh.close();
    }
  });

  it('closes promptly with a slow request in flight', async () => {
    const slow = await startSimVlm({ port: 0, defaults: { latencyMs: 60_000 } });
    const slowClient = new OpenAI({ baseURL: slow.baseUrl, apiKey: 'sim-local', maxRetries: 0 });
    const pending = slowClient.chat.completions
      .create({ model: 'sim-vlm', messages: answererMessages(scenes[6]!, ['Is there a star?']) })
      .catch((e: unknown) => e);
    // A health round trip sent after the completion request: by its answer the request is being served.
    expect((await fetch(`${slow.url}/healthz`)).ok).toBe(true);
    const started = Date.now();
    await slow.close();
    expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('plays whole games against itself over HTTP', async () => {
    const rng = createRng(99);
    const games = 12;
    let successes = 0;
    for (let g = 0; g < games; g++) {
      const candidates = rng.shuffle(scenes).slice(0, 4);
      const targetIndex = rng.int(4);
      const dialog: Array<{ question: string; answer: string }> = [];
      for (;;) {
        const left = 10 - dialog.length;
        const move = await client.chat.completions.create({ model: 'sim-vlm', messages: questionerMessages(candidates, dialog, left), seed: g });
        const output = JSON.parse(move.choices[0]!.message.content!) as { question?: string; guess?: number };
        if (output.guess !== undefined) {
          if (output.guess - 1 === targetIndex) successes++;
          break;
        }
        const reply = await client.chat.completions.create({
          model: 'sim-vlm',
          messages: answererMessages(candidates[targetIndex]!, [...dialog.map((d) => d.question), output.question!]),
          seed: g,
        });
        dialog.push({ question: output.question!, answer: (JSON.parse(reply.choices[0]!.message.content!) as { answer: string }).answer });
        expect(dialog.length).toBeLessThanOrEqual(10);
      }
    }
    expect(successes / games).toBeGreaterThanOrEqual(0.95);
  });
});
