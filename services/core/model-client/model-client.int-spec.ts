import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChatMessage } from '../../game/messages';
import type { ModelRoleSettings } from '../config';
import { AbortedError, ModelError } from '../errors';
import { configureLogging, resetLogging } from '../logging';
import { LimiterRegistry } from './limiter';
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
      const request = {
        path: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>,
      };
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
    // Generous: on a loaded machine a local answer can take seconds, and a timeout lowers the limit.
    timeoutMs: 30_000,
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
    // Each test its own limiters: the process-wide ones would carry limits from test to test.
    limiters: new LimiterRegistry(),
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
    expect(result).toMatchObject({ text: '{"answer": "yes"}', promptTokens: 1200, completionTokens: 30, cachedTokens: 0, model: 'test-vlm', attempts: 1 });
    expect(result.retries).toEqual({ rate_limited: 0, unavailable: 0, server_error: 0, connection: 0, timeout: 0 });
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

  it('sends long image URLs (serialised once, JSON.rawJSON) exactly as given, on every call and attempt', async () => {
    const long = (fill: number): string => `data:image/png;base64,${Buffer.alloc(3_000, fill).toString('base64')}`;
    const withImages: ChatMessage[] = [
      messages[0]!,
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Candidates:' },
          { type: 'image_url', image_url: { url: long(1) } },
          { type: 'image_url', image_url: { url: long(2) } },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        ],
      },
    ];
    const sent = JSON.parse(JSON.stringify(withImages)) as unknown;
    let calls = 0;
    handler = (_request, res) => (++calls === 1 ? reply(res, 500, { error: { message: 'again' } }) : reply(res, 200, completion('{"question": "Is it red?"}')));
    await client().complete(withImages);
    await client().complete(withImages);
    expect(received.map((r) => r.body.messages)).toEqual([sent, sent, sent]);
    // The caller's messages are left as they were.
    expect(withImages).toEqual(sent);
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
    const error = await rejection(client({ timeoutMs: 300 }, { retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 } }).complete(messages));
    expect(error).toMatchObject({ retriable: true });
    expect((error as Error).message).toContain('no response within 300 ms');
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

  it.each(['node:http (default)', 'global'] as const)(
    'ends an aborted call the same way with the %s fetch: AbortedError, the request torn down, nothing sent when aborted before',
    async (kind) => {
      const fetchOption: Partial<ModelClientOptions> = kind === 'global' ? { fetch: 'global' } : {};
      let closed = 0;
      handler = (_request, res) => res.on('close', () => closed++); // never answers
      const controller = new AbortController();
      const call = client({}, fetchOption).complete(messages, { signal: controller.signal });
      const deadline = Date.now() + 5_000;
      while (received.length === 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
      controller.abort();
      const error = await rejection(call);
      expect(error).toBeInstanceOf(AbortedError);
      expect((error as Error).message).toMatch(/^answerer model .* request aborted$/);
      while (closed === 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
      expect(closed).toBe(1);
      // Aborted before the call: no request at all.
      received = [];
      const early = new AbortController();
      early.abort();
      expect(await rejection(client({}, fetchOption).complete(messages, { signal: early.signal }))).toBeInstanceOf(AbortedError);
      expect(received).toHaveLength(0);
    },
  );

  it('starts no attempt past the deadline', async () => {
    handler = (_request, res) => reply(res, 503, { error: { message: 'overloaded' } });
    const modelClient = client(
      {},
      { now: () => 1_000, retry: { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 100 }, retryHooks: { random: () => 1, sleep: () => Promise.resolve() } },
    );
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
    expect(client({ topP: 0.8 }).modelSpec()).toEqual({
      endpoint: baseUrl,
      model: 'test-vlm',
      promptVersion: 'v1',
      temperature: 0.5,
      topP: 0.8,
      maxTokens: 128,
    });
  });
});

describe('ModelClient error classes (README "What each model error does")', () => {
  const none = { rate_limited: 0, unavailable: 0, server_error: 0, connection: 0, timeout: 0 };

  it('reports cached prompt tokens when the endpoint does', async () => {
    handler = (_request, res) =>
      reply(
        res,
        200,
        completion('{"answer": "yes"}', {
          prompt_tokens: 1200,
          completion_tokens: 30,
          total_tokens: 1230,
          prompt_tokens_details: { cached_tokens: 1024 },
        } as never),
      );
    expect(await client().complete(messages)).toMatchObject({ promptTokens: 1200, cachedTokens: 1024 });
  });

  it.each([
    {
      name: '429 with Retry-After',
      status: 429,
      headers: { 'retry-after-ms': '5' } as Record<string, string>,
      errorClass: 'rate_limited',
      received: 5,
      retries: { ...none, rate_limited: 4 },
    },
    { name: '503', status: 503, headers: {} as Record<string, string>, errorClass: 'unavailable', received: 5, retries: { ...none, unavailable: 4 } },
    { name: '500', status: 500, headers: {}, errorClass: 'server_error', received: 3, retries: { ...none, server_error: 2 } },
    { name: '502', status: 502, headers: {}, errorClass: 'server_error', received: 3, retries: { ...none, server_error: 2 } },
  ])(
    '$name → $errorClass, retried on its budget, then a ModelError with retries by cause',
    async ({ status, headers, errorClass, received: count, retries }) => {
      handler = (_request, res) => reply(res, status, { error: { message: `status ${status} from the endpoint` } }, headers);
      const error = await rejection(client({}, { waits: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 10 } }).complete(messages));
      expect(error).toBeInstanceOf(ModelError);
      expect(error).toMatchObject({ errorClass, status, retriable: true, retries });
      expect((error as Error).message).toContain(`status ${status} from the endpoint`);
      expect(received).toHaveLength(count);
    },
  );

  it.each([
    { status: 400, message: "This model's maximum context length is 4096 tokens. However, you requested 9000 tokens." },
    { status: 401, message: 'Incorrect API key provided.' },
    { status: 403, message: 'Forbidden.' },
    { status: 404, message: 'The model `nope` does not exist.' },
    { status: 422, message: 'Unprocessable request.' },
  ])('HTTP $status → client_error at once, with the endpoint message', async ({ status, message }) => {
    handler = (_request, res) => reply(res, status, { error: { message } });
    const error = await rejection(client().complete(messages));
    expect(error).toMatchObject({ errorClass: 'client_error', status, retriable: false, retries: none });
    expect((error as Error).message).toContain(message);
    expect(received).toHaveLength(1);
  });

  it('a reset connection → connection, retried with backoff, bounded', async () => {
    handler = (_request, res) => res.socket?.destroy();
    const error = await rejection(client().complete(messages));
    expect(error).toMatchObject({ errorClass: 'connection', retriable: true, retries: { ...none, connection: 2 } });
    expect(received).toHaveLength(3);
  });

  it.each([
    { name: 'no choices', body: () => ({ ...completion('x'), choices: [] }) },
    { name: 'an empty JSON object', body: () => ({}) },
  ])('a 200 with $name → bad_response at once', async ({ body }) => {
    handler = (_request, res) => reply(res, 200, body());
    const error = await rejection(client().complete(messages));
    expect(error).toMatchObject({ errorClass: 'bad_response', retriable: false, retries: none });
    expect(received).toHaveLength(1);
  });

  it('a 200 whose body is not JSON → bad_response at once', async () => {
    handler = (_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
      res.end('{"choices": [');
    };
    const error = await rejection(client().complete(messages));
    expect(error).toMatchObject({ errorClass: 'bad_response', retriable: false });
    expect(received).toHaveLength(1);
  });

  it('429s and 503s do not use up the attempt budget of failures: 4 waits and 2 failures still succeed with 3 attempts', async () => {
    const script = [429, 503, 429, 500, 429, 500];
    handler = (_request, res) => {
      const status = script.shift();
      if (status === undefined) reply(res, 200, completion('{"answer": "no"}'));
      else reply(res, status, { error: { message: `scripted ${status}` } }, status === 429 ? { 'retry-after-ms': '5' } : {});
    };
    const result = await client().complete(messages);
    expect(result).toMatchObject({ text: '{"answer": "no"}', attempts: 7, retries: { ...none, rate_limited: 3, unavailable: 1, server_error: 2 } });
    expect(received).toHaveLength(7);
  });

  it('while three plain failures exhaust it', async () => {
    handler = (_request, res) => reply(res, 500, { error: { message: 'boom' } });
    await rejection(client().complete(messages));
    expect(received).toHaveLength(3);
  });

  it('waits the whole Retry-After of a 429 (seconds) and pauses the endpoint for new calls', async () => {
    let calls = 0;
    handler = (_request, res) =>
      ++calls === 1 ? reply(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '1' }) : reply(res, 200, completion('{"answer": "yes"}'));
    const delays: number[] = [];
    const limiters = new LimiterRegistry();
    const modelClient = client({}, { limiters, retryHooks: { sleep: (ms) => (delays.push(ms), Promise.resolve()) } });
    const started = Date.now();
    const result = await modelClient.complete(messages);
    expect(result.retries.rate_limited).toBe(1);
    expect(delays).toEqual([1_000]);
    // The retry had no sleep of its own here: the limiter's pause held it back.
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(limiters.snapshots()[0]).toMatchObject({
      endpoint: baseUrl,
      model: 'test-vlm',
      decreases: 1,
      outcomes: { success: 1, overloaded: 1, timeout: 0, ignored: 0 },
    });
  });

  it('gives up waiting when the deadline comes first', async () => {
    handler = (_request, res) => reply(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '30' });
    const error = await rejection(client().complete(messages, { deadlineAtMs: Date.now() + 5_000 }));
    expect(error).toMatchObject({ errorClass: 'rate_limited', retries: none });
    expect(received).toHaveLength(1);
  });

  it('shares one limiter between clients of the same endpoint and model (per process)', async () => {
    let inFlight = 0;
    let peak = 0;
    handler = (_request, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        reply(res, 200, completion('{"answer": "yes"}'));
      }, 150);
    };
    const limiters = new LimiterRegistry();
    const questioner = client({ concurrency: 3 }, { role: 'questioner', limiters });
    const answerer = client({ concurrency: 3 }, { role: 'answerer', limiters });
    await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? questioner : answerer).complete(messages)));
    expect(peak).toBe(3);
    expect(limiters.snapshots()).toHaveLength(1);
  });

  it('a hang → timeout after the per-call timeout, retried as a timeout, bounded', async () => {
    handler = () => undefined;
    const error = await rejection(client({ timeoutMs: 300 }).complete(messages));
    expect(error).toMatchObject({ errorClass: 'timeout', retriable: true, retries: { ...none, timeout: 2 } });
    expect((error as Error).message).toContain('no response within 300 ms');
    expect(received).toHaveLength(3);
  });

  it('stops waiting for a slot at the deadline: a timeout naming the queue', async () => {
    handler = () => undefined; // the one slot hangs
    const limiters = new LimiterRegistry();
    const modelClient = client({ concurrency: 1, timeoutMs: 5_000 }, { limiters, retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1 } });
    const holding = modelClient.complete(messages).catch((error: unknown) => error);
    const started = Date.now();
    const error = await rejection(modelClient.complete(messages, { deadlineAtMs: Date.now() + 200 }));
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(error).toBeInstanceOf(ModelError);
    expect(error).toMatchObject({ errorClass: 'timeout' });
    expect((error as Error).message).toMatch(/no free slot at the endpoint before the deadline \(limit 1, 1 in flight, 0 queued\)/);
    expect(limiters.snapshots()[0]).toMatchObject({ queued: 0 });
    server.closeAllConnections();
    await holding;
  });
});
