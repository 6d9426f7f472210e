import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { imageBytes, imageUrlOf, questionOf } from './data';
import { imagePatches } from './features';
import { createRng, seedFrom } from '../datasets/prng';
import { parseServedName } from './models-dir';
import { loadModel, MANIFEST_FILE, type ModelManifest, type TinyVlm } from './model';
import { answerFromProbability, sampleYes } from './play';

/**
 * `dg tiny-vlm serve`: an OpenAI-compatible endpoint for TinyVLM models, a SMALL TRAINED MODEL (not
 * the simulator). Serves every model directory under --models-dir by its manifest name, picking up
 * directories that appear later (like vLLM adapters), so the endpoint stays fixed across iterations
 * and only the model name changes. It plays the answerer: the target image (a data: URL) and the
 * last question of the conversation; it answers in JSON when the prompt asks for {"answer": ...},
 * otherwise with a bare word.
 */

export const SERVED_BY = 'dialog-games tiny-vlm: small trained model (tfjs), not a simulator';

interface Loaded {
  model: TinyVlm;
  manifest: ModelManifest;
  dir: string;
}

export interface TinyVlmServerOptions {
  modelsDir?: string;
  modelDirs?: string[];
  host?: string;
  port?: number;
}

export interface TinyVlmServer {
  baseUrl: string;
  models(): string[];
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = 'invalid_request_error',
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

export class ModelRegistry {
  private readonly loaded = new Map<string, Loaded>();
  private readonly seenDirs = new Set<string>();

  constructor(
    private readonly modelsDir: string | undefined,
    private readonly modelDirs: readonly string[],
  ) {}

  /** Loads model directories not seen yet (complete ones: with a manifest). */
  async refresh(): Promise<void> {
    const dirs = [...this.modelDirs];
    if (this.modelsDir) {
      const entries = await readdir(this.modelsDir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [];
        throw err;
      });
      for (const e of entries) if (e.isDirectory()) dirs.push(path.join(this.modelsDir, e.name));
    }
    for (const dir of dirs) {
      const resolved = path.resolve(dir);
      if (this.seenDirs.has(resolved)) continue;
      const hasManifest = await stat(path.join(resolved, MANIFEST_FILE)).then(
        () => true,
        () => false,
      );
      if (!hasManifest) continue;
      try {
        const { model, manifest } = await loadModel(resolved);
        this.seenDirs.add(resolved);
        const old = this.loaded.get(manifest.name);
        if (old) old.model.dispose();
        this.loaded.set(manifest.name, { model, manifest, dir: resolved });
      } catch (err) {
        // A broken directory is named on stderr and retried on the next refresh, never fatal.
        process.stderr.write(`tiny-vlm serve: skipping ${resolved}: ${(err as Error).message}\n`);
      }
    }
  }

  names(): string[] {
    return [...this.loaded.keys()].sort();
  }

  async get(name: string): Promise<Loaded | undefined> {
    if (!this.loaded.has(name)) await this.refresh();
    return this.loaded.get(name);
  }

  list(): Loaded[] {
    return [...this.loaded.values()];
  }

  dispose(): void {
    for (const l of this.loaded.values()) l.model.dispose();
    this.loaded.clear();
  }
}

type Message = { role?: string; content?: string | Array<{ type?: string; text?: string; image_url?: { url?: string } }> };

function allText(messages: readonly Message[]): string {
  return messages.map((m) => (typeof m.content === 'string' ? m.content : (m.content ?? []).map((p) => p?.text ?? '').join('\n'))).join('\n');
}

export interface AnswerResult {
  content: string;
  pYes: number | null;
  question: string;
}

/** Answers the last user message of an answerer request with `model`. */
export async function answerRequest(
  model: TinyVlm,
  manifest: ModelManifest,
  messages: readonly Message[],
  patchCache?: Map<string, Float32Array>,
  /** temperature > 0 samples the answer (uniform draw from `random`); 0 or absent answers the most likely one. */
  sampling: { temperature?: number; random?: () => number } = {},
): Promise<AnswerResult> {
  const url = imageUrlOf(messages);
  if (!url) throw new HttpError(400, 'messages hold no image_url part: TinyVLM answers questions about one image');
  if (!url.startsWith('data:')) throw new HttpError(400, `image_url must be a data: URL (got ${url.slice(0, 60)}); TinyVLM fetches nothing`);
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const question = questionOf(lastUser?.content) ?? '';
  if (!question) throw new HttpError(400, 'the last user message holds no question text');
  const json = allText(messages).includes('{"answer"');
  if (/^describe the image\.?$/i.test(question.trim())) {
    const text = 'I can only answer yes/no questions about this image.';
    return { content: json ? JSON.stringify({ description: text }) : text, pYes: null, question };
  }
  const key = createHash('sha256').update(url).digest('hex');
  let patches = patchCache?.get(key);
  if (!patches) {
    try {
      patches = imagePatches(await imageBytes(url, '.'));
    } catch (err) {
      throw new HttpError(400, (err as Error).message);
    }
    if (patchCache) {
      if (patchCache.size > 512) patchCache.delete(patchCache.keys().next().value!);
      patchCache.set(key, patches);
    }
  }
  const [pYes] = model.predict([{ patches, question }]);
  const t = sampling.temperature ?? 0;
  const answer = answerFromProbability(t > 0 ? sampleYes(pYes!, t, (sampling.random ?? Math.random)()) : pYes!, manifest.unsureMargin);
  return { content: json ? JSON.stringify({ answer }) : answer, pYes: pYes!, question };
}

function countTokens(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 32 * 1024 * 1024) throw new HttpError(413, 'request body over 32 MiB');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `request body is not JSON: ${(err as Error).message}`);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-served-by': 'tiny-vlm' });
  res.end(text);
}

export async function startTinyVlmServer(options: TinyVlmServerOptions): Promise<TinyVlmServer> {
  const registry = new ModelRegistry(options.modelsDir, options.modelDirs ?? []);
  await registry.refresh();
  const patchCache = new Map<string, Float32Array>();
  let counter = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/v1/models') {
      await registry.refresh();
      send(res, 200, {
        object: 'list',
        data: registry.list().map((l) => ({
          id: l.manifest.name,
          object: 'model',
          created: Math.floor(Date.parse(l.manifest.createdAt) / 1000),
          owned_by: SERVED_BY,
          parent: l.manifest.parent,
          architecture: l.manifest.architecture,
          training_data_sha256: l.manifest.training.dataSha256,
          metrics: l.manifest.metrics,
        })),
      });
      return;
    }
    if (req.method === 'GET' && (url.pathname === '/healthz' || url.pathname === '/')) {
      send(res, 200, { ok: true, servedBy: SERVED_BY, models: registry.names() });
      return;
    }
    if (req.method !== 'POST' || url.pathname !== '/v1/chat/completions')
      throw new HttpError(404, `no route ${req.method} ${url.pathname}`, 'invalid_request_error', 'not_found');
    const body = (await readJson(req)) as { model?: unknown; messages?: unknown; temperature?: unknown; seed?: unknown };
    if (typeof body?.model !== 'string') throw new HttpError(400, 'request has no "model" string');
    if (!Array.isArray(body.messages)) throw new HttpError(400, 'request has no "messages" array');
    let served: ReturnType<typeof parseServedName>;
    try {
      served = parseServedName(body.model);
    } catch (err) {
      throw new HttpError(400, (err as Error).message);
    }
    const loaded = await registry.get(served.name);
    if (!loaded)
      throw new HttpError(
        404,
        `model ${JSON.stringify(body.model)} not found; serving ${registry.names().join(', ') || 'no models'} (optionally as NAME@t=X to sample at temperature X)`,
        'invalid_request_error',
        'model_not_found',
      );
    // A name's @t=X wins over the request's temperature (see parseServedName).
    const requestedT = served.temperature ?? body.temperature;
    const temperature = typeof requestedT === 'number' && requestedT > 0 ? requestedT : 0;
    // The request's integer `seed` (the roles send one per turn) makes a sampled answer reproducible; without one, Math.random.
    const seeded = Number.isSafeInteger(body.seed) ? createRng(seedFrom('tiny-vlm-sample', body.seed as number)) : undefined;
    const result = await answerRequest(loaded.model, loaded.manifest, body.messages as Message[], patchCache, {
      temperature,
      ...(seeded ? { random: () => seeded.next() } : {}),
    });
    const promptTokens = countTokens(allText(body.messages as Message[])) + 9; // 9 image patches
    const completionTokens = countTokens(result.content);
    send(res, 200, {
      id: `chatcmpl-tiny-${Date.now().toString(36)}-${counter++}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      system_fingerprint: `tiny-vlm:${loaded.manifest.weightsSha256.slice(0, 12)}`,
      choices: [{ index: 0, message: { role: 'assistant', content: result.content }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      served_by: SERVED_BY,
    });
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const e = err instanceof HttpError ? err : new HttpError(500, `tiny-vlm: ${(err as Error).message}`, 'server_error');
      if (!res.headersSent) send(res, e.status, { error: { message: e.message, type: e.type, code: e.code } });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    baseUrl: `http://${options.host ?? '127.0.0.1'}:${address.port}/v1`,
    models: () => registry.names(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          registry.dispose();
          resolve();
        });
      }),
  };
}
