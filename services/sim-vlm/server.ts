import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { describeError } from '../core/errors';
import { createLogger, type Logger } from '../core/logging';
import { loadImageBytes } from '../datasets/image-bytes';
import { MissingSceneError, readSceneFromPng } from '../datasets/png-text';
import type { Scene } from '../datasets/scene';
import {
  DEFAULT_BEHAVIOUR,
  DEFAULT_MODEL_PRESETS,
  REQUEST_FIELDS,
  SIMULATOR_NOTICE,
  behaviourValueProblem,
  drawLatencyMs,
  resolveModelName,
  type SimBehaviour,
} from './behaviour';
import { messageText, type ChatMessageIn } from './conversation';
import { simulateCompletion } from './simulator';

/**
 * The simulated VLM's HTTP face: an OpenAI-compatible subset (POST /v1/chat/completions,
 * GET /v1/models, GET /v1/models/:id, GET /healthz) on node:http. All game behaviour lives in
 * simulator.ts; this file parses, delays, fails on purpose and formats.
 */

export interface SimVlmOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8000; 0 picks a free port. */
  port?: number;
  /** Server-wide behaviour (from SIM_VLM_* config). */
  defaults?: Partial<SimBehaviour>;
  /** Model names served, each with its behaviour overrides. Default DEFAULT_MODEL_PRESETS. */
  models?: Readonly<Record<string, Partial<SimBehaviour>>>;
  /** Accept file:// image URLs (local use). Default: only when bound to a loopback address. */
  allowFileUrls?: boolean;
  /** Timeout for http(s) image URLs. Default 10 s. */
  imageFetchTimeoutMs?: number;
  logger?: Logger;
}

export interface SimVlmServer {
  /** http://host:port */
  url: string;
  /** http://host:port/v1, the `baseURL` for the openai client. */
  baseUrl: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;
/** Flat prompt-token charge per image, like a low-detail image on hosted APIs. */
export const TOKENS_PER_IMAGE = 85;
const OWNER = 'dialog-games-simulator';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

const contentPartSchema = z.looseObject({ type: z.string() });
const messageSchema = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(contentPartSchema), z.null()]).optional(),
});
const requestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(messageSchema).min(1),
  seed: z.number().int().nullish(),
  stream: z.boolean().nullish(),
  n: z.number().int().nullish(),
});

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function sendJson(res: ServerResponse, status: number, body: unknown, requestId: string): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'x-request-id': requestId });
  res.end(payload);
}

function sendError(res: ServerResponse, err: HttpError, requestId: string): void {
  sendJson(res, err.status, { error: { message: err.message, type: err.type, param: err.param, code: err.code } }, requestId);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `Request body exceeds ${MAX_BODY_BYTES} bytes.`, 'invalid_request_error', 'request_too_large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'Request body is empty: expected a JSON object.', 'invalid_request_error');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `Request body is not valid JSON: ${(err as Error).message}`, 'invalid_request_error');
  }
}

function validationMessage(error: z.ZodError): { message: string; param: string | null } {
  const issue = error.issues[0];
  const param = issue ? issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('') : '';
  return { message: `Invalid value for '${param || 'body'}': ${issue?.message ?? 'invalid request'}`, param: param || null };
}

export async function startSimVlm(options: SimVlmOptions = {}): Promise<SimVlmServer> {
  const host = options.host ?? '127.0.0.1';
  const models = options.models ?? DEFAULT_MODEL_PRESETS;
  const defaults: SimBehaviour = { ...DEFAULT_BEHAVIOUR, ...options.defaults };
  // Served beyond loopback, file: URLs would let any caller probe the host's files.
  const allowFileUrls = options.allowFileUrls ?? isLoopback(host);
  const log = options.logger ?? createLogger('sim-vlm');
  const created = Math.floor(Date.now() / 1000);
  // Pending latency delays, released at close so that no timer keeps the process alive.
  const delays = new Map<NodeJS.Timeout, () => void>();

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (ms <= 0) return resolve();
      const timer = setTimeout(() => {
        delays.delete(timer);
        resolve();
      }, ms);
      delays.set(timer, resolve);
    });

  const loadScene = async (url: string): Promise<Scene | undefined> => {
    if (!/^(data|https?|file):/i.test(url)) throw new HttpError(400, `Invalid image URL ${JSON.stringify(url.slice(0, 60))}: expected a data:, http(s): or file: URL.`, 'invalid_request_error', 'invalid_image_url');
    if (/^file:/i.test(url) && !allowFileUrls) throw new HttpError(400, 'file: image URLs are disabled on this server.', 'invalid_request_error', 'invalid_image_url');
    let image;
    try {
      image = await loadImageBytes(url, { timeoutMs: options.imageFetchTimeoutMs ?? 10_000 });
    } catch (err) {
      throw new HttpError(400, `Invalid image: ${(err as Error).message}`, 'invalid_request_error', 'invalid_image');
    }
    if (image.mediaType !== 'image/png') return undefined;
    try {
      return readSceneFromPng(image.bytes);
    } catch (err) {
      if (err instanceof MissingSceneError) return undefined;
      throw new HttpError(400, `Invalid image: ${(err as Error).message}`, 'invalid_request_error', 'invalid_image');
    }
  };

  const modelEntry = (id: string) => ({ id, object: 'model', created, owned_by: OWNER, description: SIMULATOR_NOTICE, simulator: true });

  const behaviourFor = (body: Record<string, unknown>, model: string): SimBehaviour => {
    const resolved = resolveModelName(model, models);
    if (!resolved.ok) throw new HttpError(resolved.status, resolved.message, 'invalid_request_error', resolved.status === 404 ? 'model_not_found' : 'invalid_model', 'model');
    const behaviour: SimBehaviour = { ...defaults, ...resolved.overrides };
    for (const [field, key] of Object.entries(REQUEST_FIELDS)) {
      const value = body[field];
      if (value === undefined || value === null) continue;
      const problem = behaviourValueProblem(key, value);
      if (problem) throw new HttpError(400, `Invalid value for '${field}': ${problem}.`, 'invalid_request_error', null, field);
      behaviour[key] = value as number;
    }
    return behaviour;
  };

  const completions = async (req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> => {
    const started = Date.now();
    const raw = await readBody(req);
    const parsed = requestSchema.safeParse(raw);
    if (!parsed.success) {
      const { message, param } = validationMessage(parsed.error);
      throw new HttpError(400, message, 'invalid_request_error', null, param);
    }
    const body = parsed.data;
    if (body.n !== undefined && body.n !== null && body.n !== 1) throw new HttpError(400, "Invalid value for 'n': the simulator returns exactly one choice.", 'invalid_request_error', null, 'n');
    const behaviour = behaviourFor(body, body.model);
    const messages = body.messages as ChatMessageIn[];
    const completion = await simulateCompletion({ messages, behaviour, ...(typeof body.seed === 'number' ? { seed: body.seed } : {}) }, loadScene);
    // Latency and injected failures are not seeded: a client retrying a failed request must be able to succeed.
    await sleep(drawLatencyMs(behaviour, Math.random));
    if (Math.random() < behaviour.failureRate) {
      throw new HttpError(500, 'Injected failure (simulator failure rate).', 'server_error', 'simulated_failure');
    }
    const promptText = messages.map(messageText).join('\n');
    const promptTokens = estimateTokens(promptText) + 4 * messages.length + TOKENS_PER_IMAGE * completion.imageCount;
    const completionTokens = Math.max(1, estimateTokens(completion.content));
    const id = `chatcmpl-sim-${randomUUID()}`;
    const createdAt = Math.floor(Date.now() / 1000);
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    log.debug('completion', { requestId, model: body.model, role: completion.role, images: completion.imageCount, ms: Date.now() - started });
    if (body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': requestId });
      const chunk = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}): string =>
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: createdAt, model: body.model, system_fingerprint: OWNER, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }], ...extra })}\n\n`;
      res.write(chunk({ role: 'assistant', content: completion.content }, null));
      const includeUsage = (body as { stream_options?: { include_usage?: boolean } }).stream_options?.include_usage === true;
      res.write(chunk({}, 'stop', includeUsage ? { usage } : {}));
      res.end('data: [DONE]\n\n');
      return;
    }
    sendJson(
      res,
      200,
      {
        id,
        object: 'chat.completion',
        created: createdAt,
        model: body.model,
        system_fingerprint: OWNER,
        choices: [{ index: 0, message: { role: 'assistant', content: completion.content, refusal: null }, finish_reason: 'stop', logprobs: null }],
        usage,
      },
      requestId,
    );
  };

  const route = async (req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://sim-vlm');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const allow = (methods: string[]): void => {
      if (!methods.includes(method)) throw new HttpError(405, `Method ${method} not allowed on ${path} (use ${methods.join(', ')}).`, 'invalid_request_error', 'method_not_allowed');
    };
    if (path === '/healthz') {
      allow(['GET', 'HEAD']);
      return sendJson(res, 200, { status: 'ok', simulator: true, models: Object.keys(models) }, requestId);
    }
    if (path === '/v1/models') {
      allow(['GET']);
      return sendJson(res, 200, { object: 'list', data: Object.keys(models).map(modelEntry) }, requestId);
    }
    if (path.startsWith('/v1/models/')) {
      allow(['GET']);
      const id = decodeURIComponent(path.slice('/v1/models/'.length));
      const resolved = resolveModelName(id, models);
      if (!resolved.ok) throw new HttpError(resolved.status, resolved.message, 'invalid_request_error', resolved.status === 404 ? 'model_not_found' : 'invalid_model', 'model');
      return sendJson(res, 200, modelEntry(id), requestId);
    }
    if (path === '/v1/chat/completions') {
      allow(['POST']);
      return completions(req, res, requestId);
    }
    throw new HttpError(404, `Unknown request URL: ${method} ${path}. The simulator serves POST /v1/chat/completions, GET /v1/models and GET /healthz.`, 'invalid_request_error', 'unknown_url');
  };

  const server = createServer((req, res) => {
    const requestId = `req-sim-${randomUUID()}`;
    route(req, res, requestId).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy(err as Error);
        return;
      }
      if (err instanceof HttpError) {
        if (err.status >= 500) log.warn('request failed', { requestId, status: err.status, message: err.message });
        return sendError(res, err, requestId);
      }
      log.error('unexpected error', { requestId, error: describeError(err) });
      sendError(res, new HttpError(500, `Internal simulator error: ${(err as Error)?.message ?? String(err)}`, 'server_error', 'internal_error'), requestId);
    });
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8000, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${hostForUrl}:${address.port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    baseUrl: `${url}/v1`,
    host: address.address,
    port: address.port,
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const [timer, release] of delays) {
          clearTimeout(timer);
          release();
        }
        delays.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
