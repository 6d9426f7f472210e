import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChatMessage } from '../../game/messages';
import type { ModelRoleSettings } from '../config';
import { AbortedError, ModelError } from '../errors';
import { configureLogging, resetLogging } from '../logging';
import { ModelClient, type ModelClientOptions } from './model-client';

/**
 * A test double of a model endpoint (not of our infrastructure): a node:http server on 127.0.0.1,
 * port 0, answering /v1/chat/completions in the OpenAI JSON shape with a per-test handler.
 */
interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}
type Handler = (request: Received, response: ServerResponse) => void;

let server: Server;
let baseUrl: string;
let handler: Handler;
let received: Received[];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { path: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown> };
      received.push(request);
      handler(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  configureLogging({ level: 'silent' });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  resetLogging();
});

beforeEach(() => {
  received = [];
  handler = (_request, res) => reply(res, 200, completion('{"answer": "yes"}'));
});

afterEach(() => server.closeAllConnections());

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  // No keep-alive: a socket closed between tests must not fail the next test's first attempt.
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close', ...headers });
  res.end(JSON.stringify(body));
}

function completion(content: string | null, usage = { prompt_tokens: 1200, completion_tokens: 30, total_tokens: 1230 }) {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion',
    created: 1,
    model: 'test-vlm',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }],
    usage,
  };
}

function settings(overrides: Partial<ModelRoleSettings> = {}): ModelRoleSettings {
  return {
    baseUrl,
    model: 'test-vlm',
    apiKey: 'secret-key',
    temperature: 0.5,
    topP: null,
    maxTokens: 128,
    concurrency: 4,
    timeoutMs: 5_000,
    promptVersion: 'v1',
    pricePromptPerMTok: 2.5,
    priceCompletionPerMTok: 10,
    ...overrides,
  };
}

function client(overrides: Partial<ModelRoleSettings> = {}, options: Partial<ModelClientOptions> = {}): ModelClient {
  return new ModelClient({
    role: 'answerer',
    settings: settings(overrides),
    retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1 },
    retryHooks: { sleep: () => Promise.resolve() },
    ...options,
  });
}

const messages: ChatMessage[] = [
  { role: 'system', content: 'You are the answerer.' },
  {
    role: 'user',
    content: [
      { type: 'text', text: 'This is your image.' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
      { type: 'text', text: 'Question: Is it red?' },
    ],
  },
];

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

describe('ModelClient.complete', () => {
  it('sends the configured request and returns text, tokens, latency and cost', async () => {
    const result = await client().complete(messages, { seed: 7, responseFormatJson: true });
    expect(result).toMatchObject({ text: '{"answer": "yes"}', promptTokens: 1200, completionTokens: 30, model: 'test-vlm', attempts: 1 });
    expect(result.costUsd).toBeCloseTo((1200 * 2.5 + 30 * 10) / 1e6, 12);
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);

    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request!.path).toBe('/v1/chat/completions');
    expect(request!.headers.authorization).toBe('Bearer secret-key');
    expect(request!.body).toEqual({
      model: 'test-vlm',
      messages,
      temperature: 0.5,
      max_tokens: 128,
      seed: 7,
      response_format: { type: 'json_object' },
    });
  });

  it('sends top_p when set, a per-call model, and a placeholder key when none is configured', async () => {
    await client({ topP: 0.9, apiKey: '' }).complete(messages, { model: 'other-vlm' });
    expect(received[0]!.body).toMatchObject({ model: 'other-vlm', top_p: 0.9 });
    expect(received[0]!.body).not.toHaveProperty('seed');
    expect(received[0]!.body).not.toHaveProperty('response_format');
    expect(received[0]!.headers.authorization).toBe('Bearer unused');
  });

  it('reports empty content as empty text and missing usage as zero tokens', async () => {
    handler = (_request, res) => reply(res, 200, { ...completion(null), usage: undefined });
    expect(await client().complete(messages)).toMatchObject({ text: '', promptTokens: 0, completionTokens: 0, costUsd: 0 });
  });

  it('retries 5xx and 429 (honouring Retry-After) and then succeeds', async () => {
    let calls = 0;
    handler = (_request, res) => {
      calls++;
      if (calls === 1) reply(res, 503, { error: { message: 'overloaded' } });
      else if (calls === 2) reply(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '0' });
      else reply(res, 200, completion('{"answer": "no"}'));
    };
    const result = await client().complete(messages);
    expect(result).toMatchObject({ text: '{"answer": "no"}', attempts: 3 });
    expect(received).toHaveLength(3);
  });

  it('gives up after the bounded attempts with a retriable ModelError naming endpoint and model', async () => {
    handler = (_request, res) => reply(res, 500, { error: { message: 'internal' } });
    const error = await rejection(client().complete(messages));
    expect(error).toBeInstanceOf(ModelError);
    expect(error).toMatchObject({ retriable: true, status: 500 });
    expect((error as Error).message).toContain(`answerer model test-vlm at ${baseUrl}: HTTP 500`);
    expect(received).toHaveLength(3);
  });

  it.each([400, 401, 404, 422])('does not retry HTTP %i', async (status) => {
    handler = (_request, res) => reply(res, status, { error: { message: `status ${status}` } });
    const error = await rejection(client().complete(messages));
    expect(error).toMatchObject({ retriable: false, status });
    expect((error as Error).message).toContain(`HTTP ${status}`);
    expect(received).toHaveLength(1);
  });

  it('does not retry a response without choices', async () => {
    handler = (_request, res) => reply(res, 200, { ...completion('x'), choices: [] });
    const error = await rejection(client().complete(messages));
    expect(error).toMatchObject({ retriable: false });
    expect((error as Error).message).toMatch(/no choices/);
    expect(received).toHaveLength(1);
  });

  it('maps a refused connection to a retriable ModelError naming the cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/v1`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const error = await rejection(client({ baseUrl: deadUrl }).complete(messages));
    expect(error).toBeInstanceOf(ModelError);
    expect(error).toMatchObject({ retriable: true, status: undefined });
    expect((error as Error).message).toBe(`answerer model test-vlm at ${deadUrl}: connection failed (ECONNREFUSED)`);
  });

  it('maps a timeout to a retriable ModelError', async () => {
    handler = () => undefined; // never answers
    const error = await rejection(client({ timeoutMs: 50 }, { retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 } }).complete(messages));
    expect(error).toMatchObject({ retriable: true });
    expect((error as Error).message).toContain('no response within 50 ms');
    expect(received).toHaveLength(2);
  });

  it('stops at the abort signal with AbortedError', async () => {
    handler = () => undefined;
    const controller = new AbortController();
    const call = client().complete(messages, { signal: controller.signal });
    const deadline = Date.now() + 5_000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    expect(await rejection(call)).toBeInstanceOf(AbortedError);
  });

  it('starts no attempt past the deadline', async () => {
    handler = (_request, res) => reply(res, 503, { error: { message: 'overloaded' } });
    const modelClient = client({}, { now: () => 1_000, retry: { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 100 }, retryHooks: { random: () => 1, sleep: () => Promise.resolve() } });
    const error = await rejection(modelClient.complete(messages, { deadlineAtMs: 1_050 }));
    expect(error).toMatchObject({ status: 503 });
    expect(received).toHaveLength(1);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    handler = (_request, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        reply(res, 200, completion('{"answer": "yes"}'));
      }, 20);
    };
    const modelClient = client({ concurrency: 2 });
    const results = await Promise.all(Array.from({ length: 6 }, () => modelClient.complete(messages)));
    expect(results).toHaveLength(6);
    expect(peak).toBe(2);
    expect(modelClient.inFlight).toBe(0);
  });

  it('describes itself as the ModelSpec recorded on games', () => {
    expect(client({ topP: 0.8 }).modelSpec()).toEqual({ endpoint: baseUrl, model: 'test-vlm', promptVersion: 'v1', temperature: 0.5, topP: 0.8, maxTokens: 128 });
  });
});
