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
  drawFault,
  drawLatencyMs,
  faultSumProblem,
  resolveModelName,
  type SimBehaviour,
} from './behaviour';
import { messageText, type ChatMessageIn } from './conversation';
import { LongStringMemo } from './memo';
import { simulateCompletion } from './simulator';

/**
 * The simulated VLM's HTTP face: an OpenAI-compatible subset (POST /v1/chat/completions,
 * GET /v1/models, GET /v1/models/:id, GET /healthz) on node:http, plus GET|DELETE /v1/sim/stats
 * (calls served per model by outcome, in flight now and at peak). All game behaviour lives in
 * simulator.ts; this file parses, delays, fails on purpose (behaviour.ts: faults and the
 * concurrency cap) and formats.
 */

/** How a chat-completions request ended, as counted in the stats. */
export type SimOutcome = 'ok' | 'malformed' | 'refusal' | 'rate_limited' | 'saturated' | 'unavailable' | 'server_error' | 'reset' | 'hang' | 'client_error';

export interface SimModelStats {
  /** Requests by outcome. */
  served: Record<SimOutcome, number>;
  inFlight: number;
  peakInFlight: number;
}

/** GET /v1/sim/stats: what this SIMULATOR served since it started or its stats were reset. */
export interface SimStats {
  simulator: true;
  notice: string;
  /** Requests admitted (not turned away by the cap) and not yet answered, server-wide. */
  inFlight: number;
  peakInFlight: number;
  /** ∫ inFlight dt in call·ms since `sinceMs`: the mean in flight between two snapshots is Δintegral / Δtime. */
  inFlightIntegralMs: number;
  sinceMs: number;
  atMs: number;
  /** Chat-completions requests rejected before a model was known (bad JSON, unknown model, ...). */
  invalidRequests: number;
  /** Keyed by the model name as requested (with any @options). */
  models: Record<string, SimModelStats>;
}

const emptyServed = (): Record<SimOutcome, number> => ({
  ok: 0,
  malformed: 0,
  refusal: 0,
  rate_limited: 0,
  saturated: 0,
  unavailable: 0,
  server_error: 0,
  reset: 0,
  hang: 0,
  client_error: 0,
});

/** What a refusing model says instead of playing. */
export const REFUSAL_TEXT = "I'm sorry, but I can't help with that request.";

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
  /** Sees every request as it arrives, before the simulator reads it (the bound bench counts there). */
  onRequest?: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface SimVlmServer {
  /** http://host:port */
  url: string;
  /** http://host:port/v1, the `baseURL` for the openai client. */
  baseUrl: string;
  host: string;
  port: number;
  /** The counters of GET /v1/sim/stats. */
  stats(): SimStats;
  /** Zeroes the counters (DELETE /v1/sim/stats); in-flight calls stay counted. */
  resetStats(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;
/** Scene cache of data: URLs: at most this many characters of URLs in all, none longer than the second. */
const SCENE_CACHE_MAX_CHARS = 32 * 1024 * 1024;
const SCENE_CACHE_MAX_URL_CHARS = 1024 * 1024;
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
    readonly headers: Record<string, string> = {},
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
  const payload = JSON.stringify({ error: { message: err.message, type: err.type, param: err.param, code: err.code } });
  res.writeHead(err.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'x-request-id': requestId, ...err.headers });
  res.end(payload);
}

/** The request body, read with plain stream events (cheaper per request than an async iterator). */
function readBodyText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        // As a for-await loop left by a throw would: the request stream is destroyed.
        fail(new HttpError(413, `Request body exceeds ${MAX_BODY_BYTES} bytes.`, 'invalid_request_error', 'request_too_large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    });
    req.once('error', fail);
    // 'close' follows every request; only one that ends before its body is a failure.
    req.once('close', () => settled || fail(new Error('Premature close')));
  });
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const text = await readBodyText(req);
  if (text.trim() === '') throw new HttpError(400, 'Request body is empty: expected a JSON object.', 'invalid_request_error');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `Request body is not valid JSON: ${(err as Error).message}`, 'invalid_request_error');
  }
}

const MESSAGE_ROLES: ReadonlySet<unknown> = new Set(['system', 'developer', 'user', 'assistant', 'tool']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNullishSafeInteger(value: unknown): boolean {
  return value === undefined || value === null || Number.isSafeInteger(value);
}

/**
 * True when `raw` certainly passes requestSchema (a stricter check, without building a copy of a
 * body of many KB of image URLs); anything else goes through the schema itself, so that invalid
 * requests get its errors exactly as before.
 */
function clearlyValidRequest(raw: unknown): raw is z.infer<typeof requestSchema> {
  if (!isPlainObject(raw)) return false;
  if (typeof raw.model !== 'string' || raw.model.length < 1) return false;
  if (!isNullishSafeInteger(raw.seed) || !isNullishSafeInteger(raw.n)) return false;
  if (raw.stream !== undefined && raw.stream !== null && typeof raw.stream !== 'boolean') return false;
  const messages = raw.messages;
  if (!Array.isArray(messages) || messages.length < 1) return false;
  for (const message of messages) {
    if (!isPlainObject(message) || !MESSAGE_ROLES.has(message.role)) return false;
    const content = message.content;
    if (content === undefined || content === null || typeof content === 'string') continue;
    if (!Array.isArray(content)) return false;
    for (const part of content) if (!isPlainObject(part) || typeof part.type !== 'string') return false;
  }
  return true;
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
  // Hanging requests, released at close.
  const hangs = new Set<() => void>();

  let stats: SimStats;
  let lastChangeAt = Date.now();
  const resetStats = (): void => {
    const now = Date.now();
    const models: Record<string, SimModelStats> = {};
    // Calls in flight across a reset stay counted, so inFlight never goes negative.
    for (const [name, model] of Object.entries(stats?.models ?? {}))
      if (model.inFlight > 0) models[name] = { served: emptyServed(), inFlight: model.inFlight, peakInFlight: model.inFlight };
    const inFlight = stats?.inFlight ?? 0;
    stats = {
      simulator: true,
      notice: SIMULATOR_NOTICE,
      inFlight,
      peakInFlight: inFlight,
      inFlightIntegralMs: 0,
      sinceMs: now,
      atMs: now,
      invalidRequests: 0,
      models,
    };
    lastChangeAt = now;
  };
  resetStats();
  const integrate = (): void => {
    const now = Date.now();
    stats.inFlightIntegralMs += stats.inFlight * (now - lastChangeAt);
    lastChangeAt = now;
  };
  const modelStats = (model: string): SimModelStats => (stats.models[model] ??= { served: emptyServed(), inFlight: 0, peakInFlight: 0 });
  const count = (model: string, outcome: SimOutcome): void => void modelStats(model).served[outcome]++;
  const admit = (model: string): (() => void) => {
    integrate();
    const entry = modelStats(model);
    stats.inFlight++;
    entry.inFlight++;
    stats.peakInFlight = Math.max(stats.peakInFlight, stats.inFlight);
    entry.peakInFlight = Math.max(entry.peakInFlight, entry.inFlight);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      integrate();
      stats.inFlight--;
      modelStats(model).inFlight--;
    };
  };
  const snapshot = (): SimStats => {
    integrate();
    return {
      ...stats,
      atMs: Date.now(),
      models: Object.fromEntries(Object.entries(stats.models).map(([name, m]) => [name, { ...m, served: { ...m.served } }])),
    };
  };

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (ms <= 0) return resolve();
      const timer = setTimeout(() => {
        delays.delete(timer);
        resolve();
      }, ms);
      delays.set(timer, resolve);
    });

  // Scenes of data: URLs by the URL itself (the URL is the image's content, so this is what decoding
  // it again would give): a questioner turn sends every candidate again, and games share images.
  // Bounded by total URL length; http(s) and file: images are read every time (they may change).
  const sceneCache = new LongStringMemo<Scene | undefined>(SCENE_CACHE_MAX_CHARS);
  const loadSceneCached = async (url: string): Promise<Scene | undefined> => {
    if (!url.startsWith('data:') || url.length > SCENE_CACHE_MAX_URL_CHARS) return loadScene(url);
    const known = sceneCache.find(url);
    if (known) return known.value;
    const scene = await loadScene(url);
    sceneCache.set(url, scene);
    return scene;
  };
  const loadScene = async (url: string): Promise<Scene | undefined> => {
    if (!/^(data|https?|file):/i.test(url))
      throw new HttpError(
        400,
        `Invalid image URL ${JSON.stringify(url.slice(0, 60))}: expected a data:, http(s): or file: URL.`,
        'invalid_request_error',
        'invalid_image_url',
      );
    if (/^file:/i.test(url) && !allowFileUrls)
      throw new HttpError(400, 'file: image URLs are disabled on this server.', 'invalid_request_error', 'invalid_image_url');
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
    if (!resolved.ok)
      throw new HttpError(resolved.status, resolved.message, 'invalid_request_error', resolved.status === 404 ? 'model_not_found' : 'invalid_model', 'model');
    const behaviour: SimBehaviour = { ...defaults, ...resolved.overrides };
    for (const [field, key] of Object.entries(REQUEST_FIELDS)) {
      const value = body[field];
      if (value === undefined || value === null) continue;
      const problem = behaviourValueProblem(key, value);
      if (problem) throw new HttpError(400, `Invalid value for '${field}': ${problem}.`, 'invalid_request_error', null, field);
      behaviour[key] = value as number;
    }
    const sum = faultSumProblem(behaviour);
    if (sum) throw new HttpError(400, `Invalid simulator behaviour for \`${model}\`: ${sum}.`, 'invalid_request_error', null, 'model');
    return behaviour;
  };

  const completions = async (req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> => {
    const started = Date.now();
    const raw = await readBody(req);
    let body: z.infer<typeof requestSchema>;
    if (clearlyValidRequest(raw)) body = raw;
    else {
      const parsed = requestSchema.safeParse(raw);
      if (!parsed.success) {
        const { message, param } = validationMessage(parsed.error);
        throw new HttpError(400, message, 'invalid_request_error', null, param);
      }
      body = parsed.data;
    }
    if (body.n !== undefined && body.n !== null && body.n !== 1)
      throw new HttpError(400, "Invalid value for 'n': the simulator returns exactly one choice.", 'invalid_request_error', null, 'n');
    let behaviour: SimBehaviour;
    try {
      behaviour = behaviourFor(body, body.model);
    } catch (err) {
      stats.invalidRequests++;
      throw err;
    }
    const model = body.model;
    if (behaviour.maxConcurrency > 0 && stats.inFlight >= behaviour.maxConcurrency) {
      count(model, 'saturated');
      throw new HttpError(
        429,
        `The simulator is saturated: ${stats.inFlight} requests in flight, its max concurrency is ${behaviour.maxConcurrency}. Retry later.`,
        'rate_limit_error',
        'saturated',
      );
    }
    const release = admit(model);
    try {
      await answer(req, res, requestId, body, behaviour, started);
    } finally {
      release();
    }
  };

  const answer = async (
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    body: z.infer<typeof requestSchema>,
    behaviour: SimBehaviour,
    started: number,
  ): Promise<void> => {
    const model = body.model;
    // Latency and injected faults are not seeded: a client retrying a failed request must be able to succeed.
    const fault = drawFault(behaviour, Math.random());
    if (fault === 'rateLimitRate') {
      count(model, 'rate_limited');
      const headers = { 'retry-after': String(Math.ceil(behaviour.retryAfterMs / 1000)), 'retry-after-ms': String(behaviour.retryAfterMs) };
      throw new HttpError(
        429,
        `Injected rate limit (simulator): retry after ${behaviour.retryAfterMs} ms.`,
        'rate_limit_error',
        'simulated_rate_limit',
        null,
        headers,
      );
    }
    if (fault === 'unavailableRate') {
      count(model, 'unavailable');
      throw new HttpError(503, 'Injected unavailability (simulator): the server is overloaded.', 'server_error', 'simulated_unavailable');
    }
    const messages = body.messages as ChatMessageIn[];
    const seeded = typeof body.seed === 'number' && behaviour.random !== 1;
    let completion;
    try {
      completion = await simulateCompletion({ messages, behaviour, ...(seeded ? { seed: body.seed! } : {}) }, loadSceneCached);
    } catch (err) {
      count(model, err instanceof HttpError && err.status < 500 ? 'client_error' : 'server_error');
      throw err;
    }
    await sleep(drawLatencyMs(behaviour, Math.random));
    if (fault === 'failureRate') {
      count(model, 'server_error');
      throw new HttpError(500, 'Injected failure (simulator failure rate).', 'server_error', 'simulated_failure');
    }
    if (fault === 'resetRate') {
      count(model, 'reset');
      req.socket.destroy();
      return;
    }
    if (fault === 'hangRate') {
      count(model, 'hang');
      await new Promise<void>((resolve) => {
        const release = (): void => {
          hangs.delete(release);
          resolve();
        };
        hangs.add(release);
        res.once('close', release);
      });
      if (!res.writableEnded) res.destroy();
      return;
    }
    if (fault === 'malformedRate') completion = { ...completion, content: completion.content.slice(0, Math.max(1, Math.floor(completion.content.length / 2))) };
    if (fault === 'refusalRate') completion = { ...completion, content: REFUSAL_TEXT };
    count(model, fault === 'malformedRate' ? 'malformed' : fault === 'refusalRate' ? 'refusal' : 'ok');
    const promptText = messages.map(messageText).join('\n');
    const promptTokens = estimateTokens(promptText) + 4 * messages.length + TOKENS_PER_IMAGE * completion.imageCount;
    const completionTokens = Math.max(1, estimateTokens(completion.content));
    const id = `chatcmpl-sim-${randomUUID()}`;
    const createdAt = Math.floor(Date.now() / 1000);
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    if (log.isLevelEnabled('debug'))
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
    // The one hot path is recognised without parsing the URL; any other form goes through URL as always.
    const path = req.url === '/v1/chat/completions' ? req.url : new URL(req.url ?? '/', 'http://sim-vlm').pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const allow = (methods: string[]): void => {
      if (!methods.includes(method))
        throw new HttpError(405, `Method ${method} not allowed on ${path} (use ${methods.join(', ')}).`, 'invalid_request_error', 'method_not_allowed');
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
      if (!resolved.ok)
        throw new HttpError(resolved.status, resolved.message, 'invalid_request_error', resolved.status === 404 ? 'model_not_found' : 'invalid_model', 'model');
      return sendJson(res, 200, modelEntry(id), requestId);
    }
    if (path === '/v1/sim/stats') {
      allow(['GET', 'DELETE']);
      if (method === 'DELETE') resetStats();
      return sendJson(res, 200, snapshot(), requestId);
    }
    if (path === '/v1/chat/completions') {
      allow(['POST']);
      return completions(req, res, requestId);
    }
    throw new HttpError(
      404,
      `Unknown request URL: ${method} ${path}. The simulator serves POST /v1/chat/completions, GET /v1/models and GET /healthz.`,
      'invalid_request_error',
      'unknown_url',
    );
  };

  const server = createServer((req, res) => {
    options.onRequest?.(req, res);
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
    stats: snapshot,
    resetStats,
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const [timer, release] of delays) {
          clearTimeout(timer);
          release();
        }
        delays.clear();
        for (const release of [...hangs]) release();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
